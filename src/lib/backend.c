/* SPDX-License-Identifier: MIT */
/*
 * The backend ladder: which rung a run gets. Tried once per run, top down; a rung
 * the policy names explicitly must work or the run fails with the rung's reason.
 */
#include <stdio.h>
#include <sys/prctl.h>

#include "backend.h"
#include "job.h"
#include "macro.h"

/* Best first. rlimit needs nothing from the kernel and always works: it is last. */
static const backend_ops *const ladder[] = {
        &backend_cgroup2,
        &backend_cgroup2_core,
        &backend_rlimit,
};

int backend_choose(corral_job *j, const backend_ops **ret, corral_enforcement *ret_enforcement,
                   char why[static CG_WHY_MAX]) {
        corral_backend want = j->policy.backend;
        int v = 0, r;

        /* Every rung reaps the run's dead orphans when we are the subreaper; the rlimit
         * rung also finds escaped members among our children. */
        if (prctl(PR_GET_CHILD_SUBREAPER, &v) >= 0)
                j->be.subreaper = v != 0;

        for (size_t i = 0; i < ELEMENTSOF(ladder); i++) {
                const backend_ops *ops = ladder[i];
                if (want != CORRAL_BACKEND_AUTO && want != ops->id)
                        continue;
                why[0] = '\0';
                r = ops->create(j, ret_enforcement, why);
                if (r >= 0) {
                        *ret = ops;
                        return 0;
                }
                if (want == ops->id)
                        return r;
        }
        snprintf(why, CG_WHY_MAX, "no backend %s", corral_backend_to_string(want));
        return -EINVAL;
}
