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

uint64_t backend_own_maxrss(const corral_job *j, bool *ret_discarded) {
        uint64_t maxrss = (uint64_t) j->rusage.ru_maxrss * 1024;
        /* A 512 MiB caller's `sh -c 'exit 3'` under MemoryMax=256M had ru_maxrss 532 MiB:
         * the peak and the allocation-failure rule took the caller's memory for the run's. */
        *ret_discarded = false;
        /* A function's process never execs: its peak holds the pages it was forked with, the
         * caller's resident memory then (StartMethod=fork; a forkserver's child inherits
         * the helper's, which is started small) and what it touched itself. */
        if (j->caller_image)
                return maxrss > j->caller_rss ? maxrss - j->caller_rss : 0;
        *ret_discarded = maxrss > 0 && maxrss <= j->caller_maxrss;
        return *ret_discarded ? 0 : maxrss;
}

int backend_sample_rss(corral_job *j, pid_list *l, uint64_t *ret_rss) {
        /* Processes that run a copy of the caller's image hold its pages, which are not the
         * run's: a 512 MiB caller's PrivatePIDs= `sleep` was sampled at 523 MiB and stopped as
         * memory_limit, and so was a forked function that slept. A function's processes,
         * and under PrivatePIDs= the init (it never execs) and the program until its exec,
         * are such copies: count only the pages they do not share (smaps_rollup). A plain
         * command's main process is one until its exec (its report pipe is still open): it
         * is left out until then. */
        if (j->caller_image || j->policy.iso.private_pids)
                return rl_sample_rss_cached(&j->be.rss_cache, l, true, ret_rss);
        if (j->report_fd >= 0)
                pid_list_remove(l, j->pid);
        return rl_sample_rss_cached(&j->be.rss_cache, l, false, ret_rss);
}

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
