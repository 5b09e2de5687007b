/* SPDX-License-Identifier: MIT */
/*
 * corral_doctor(): walk the backend ladder for a policy without running anything but
 * a probe group (created and removed at once), and say why each rung above the chosen
 * one cannot be used.
 */
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "macro.h"
#include "namespace.h"
#include "policy.h"

static bool probe_rung(bool with_controllers, const corral_policy *p, char reason[512], char base_path[512]) {
        char why[CG_WHY_MAX];
        cg_base *b = NULL;
        cg_group *g = NULL;

        if (cg_base_find(with_controllers, &b, why) < 0) {
                snprintf(reason, 512, "%s", why);
                return false;
        }
        if (cg_group_create(b, p, with_controllers, &g, why) < 0) {
                snprintf(reason, 512, "%s", why);
                cg_base_free(b);
                return false;
        }
        (void) cg_group_remove(g);
        snprintf(base_path, 512, "%s", cg_base_path(b));
        cg_base_free(b);
        reason[0] = '\0';
        return true;
}

_public_ int corral_doctor(const corral_policy *p, corral_doctor_report *ret) {
        corral_doctor_report rep = { .chosen = CORRAL_BACKEND_RLIMIT };
        char core_base[512] = "", full_base[512] = "";

        if (!p || !ret)
                return -EINVAL;
        bool full = probe_rung(true, p, rep.reason[CORRAL_BACKEND_CGROUP2], full_base);
        bool core = probe_rung(false, p, rep.reason[CORRAL_BACKEND_CGROUP2_CORE], core_base);
        if (full) {
                rep.chosen = CORRAL_BACKEND_CGROUP2;
                snprintf(rep.cgroup_base, sizeof rep.cgroup_base, "%s", full_base);
        } else if (core) {
                rep.chosen = CORRAL_BACKEND_CGROUP2_CORE;
                snprintf(rep.cgroup_base, sizeof rep.cgroup_base, "%s", core_base);
        }
        if (p->backend != CORRAL_BACKEND_AUTO)
                rep.chosen = p->backend;
        *ret = rep;
        return 0;
}

_public_ int corral_doctor_namespaces(corral_namespaces_report *ret) {
        corral_namespaces_report rep = { .how = CORRAL_NAMESPACES_NONE };

        if (!ret)
                return -EINVAL;
        rep.user_namespaces = ns_userns_available(rep.why, sizeof rep.why) == 1;
        if (rep.user_namespaces)
                rep.why[0] = '\0';
        if (ns_privileged())
                rep.how = CORRAL_NAMESPACES_ROOT;
        else if (rep.user_namespaces)
                rep.how = CORRAL_NAMESPACES_USER;
        *ret = rep;
        return 0;
}

_public_ const char *corral_namespaces_to_string(corral_namespaces n) {
        static const char *const names[] = { "none", "root", "user-ns" };
        return n >= 0 && (size_t) n < ELEMENTSOF(names) ? names[n] : NULL;
}
