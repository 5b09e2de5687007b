/* SPDX-License-Identifier: MIT */
/*
 * corral_policy_explain(): a policy's effective settings written back as a policy file,
 * each with what would enforce it on this host (the backend the ladder would pick, as
 * corral_doctor() finds it, and the same plan a run makes). For `corral policy check`.
 * Touches the kernel only through corral_doctor()'s probe group.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corral.h"
#include "filter.h"
#include "macro.h"
#include "namespace.h"
#include "policy.h"
#include "rlimit.h"

static void format_size(char *buf, size_t size, uint64_t v) {
        static const char units[] = "KMGTPE";
        int u = -1;

        if (v == CORRAL_INFINITY) {
                snprintf(buf, size, "infinity");
                return;
        }
        while (u < 5 && v != 0 && v % 1024 == 0) {
                v /= 1024;
                u++;
        }
        if (u < 0)
                snprintf(buf, size, "%ju", (uintmax_t) v);
        else
                snprintf(buf, size, "%ju%c", (uintmax_t) v, units[u]);
}

static void format_duration(char *buf, size_t size, uint64_t usec) {
        static const struct {
                uint64_t n;
                const char *unit;
        } units[] = {
                { 7 * 24 * 3600 * USEC_PER_SEC, "w" }, { 24 * 3600 * USEC_PER_SEC, "d" },
                { 3600 * USEC_PER_SEC, "h" },          { 60 * USEC_PER_SEC, "min" },
                { USEC_PER_SEC, "s" },                 { USEC_PER_MSEC, "ms" },
        };

        if (usec == CORRAL_INFINITY) {
                snprintf(buf, size, "infinity");
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (usec != 0 && usec % units[i].n == 0) {
                        snprintf(buf, size, "%ju%s", (uintmax_t) (usec / units[i].n), units[i].unit);
                        return;
                }
        snprintf(buf, size, "%juus", (uintmax_t) usec);
}

static const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

/* The value of one key as a policy file would say it; false for a key this file does not know. */
static bool format_value(const corral_policy *p, const char *key, char *buf, size_t size, char **ret_long) {
        *ret_long = NULL;
        if (strcmp(key, "MemoryMax") == 0)
                format_size(buf, size, p->memory_max);
        else if (strcmp(key, "TasksMax") == 0)
                snprintf(buf, size, p->tasks_max == CORRAL_INFINITY ? "infinity" : "%ju", (uintmax_t) p->tasks_max);
        else if (strcmp(key, "CPUQuota") == 0) {
                if (p->cpu_quota_ppm == 0)
                        buf[0] = '\0';
                else if (p->cpu_quota_ppm % 10000 == 0)
                        snprintf(buf, size, "%ju%%", (uintmax_t) (p->cpu_quota_ppm / 10000));
                else
                        snprintf(buf, size, "%.4f%%", (double) p->cpu_quota_ppm / 10000.0);
        } else if (strcmp(key, "RuntimeMaxSec") == 0)
                format_duration(buf, size, p->runtime_max_usec);
        else if (strcmp(key, "CPUTimeMaxSec") == 0)
                format_duration(buf, size, p->cpu_time_max_usec);
        else if (strcmp(key, "TimeoutStopSec") == 0)
                format_duration(buf, size, p->timeout_stop_usec);
        else if (strcmp(key, "Backend") == 0)
                snprintf(buf, size, "%s", corral_backend_to_string(p->backend));
        else if (strcmp(key, "MemoryRlimit") == 0)
                snprintf(buf, size, "%s", p->memory_rlimit == POLICY_MEMORY_RLIMIT_AS ? "as" : "data");
        else if (strcmp(key, "Unenforced") == 0)
                snprintf(buf, size, "%s", p->refuse_unenforced ? "refuse" : "allow");
        else if (strcmp(key, "CaptureOutput") == 0)
                snprintf(buf, size, "%s", yes_no(p->capture_output));
        else if (strcmp(key, "CaptureMax") == 0)
                format_size(buf, size, p->capture_max);
        else if (strcmp(key, "OutputMax") == 0)
                format_size(buf, size, p->output_max);
        else if (strcmp(key, "StartMethod") == 0)
                snprintf(buf, size, "%s", p->start_method == CORRAL_START_FORKSERVER ? "forkserver" : "fork");
        else if (strcmp(key, "SystemCallFilter") == 0) {
                if (filter_format(&p->filter, ret_long) < 0)
                        snprintf(buf, size, "?");
        } else if (strcmp(key, "SystemCallErrorNumber") == 0)
                snprintf(buf, size, "%s", p->filter.error_number ? filter_errno_name(p->filter.error_number) : "");
        else if (strcmp(key, "SystemCallArchitectures") == 0)
                snprintf(buf, size, "%s", p->filter.arch_native ? "native" : "");
        else if (strcmp(key, "NoNewPrivileges") == 0)
                snprintf(buf, size, "%s", yes_no(p->no_new_privileges || p->filter.set || p->filter.arch_native));
        else if (strcmp(key, "PrivateNetwork") == 0)
                snprintf(buf, size, "%s", yes_no(p->iso.private_network));
        else if (strcmp(key, "PrivateTmp") == 0)
                snprintf(buf, size, "%s", yes_no(p->iso.private_tmp));
        else if (strcmp(key, "PrivateIPC") == 0)
                snprintf(buf, size, "%s", yes_no(p->iso.private_ipc));
        else if (strcmp(key, "PrivatePIDs") == 0)
                snprintf(buf, size, "%s", yes_no(p->iso.private_pids));
        else if (strcmp(key, "DynamicUser") == 0)
                snprintf(buf, size, "%s", yes_no(p->iso.dynamic_user));
        else if (strcmp(key, "User") == 0) {
                if (p->iso.user_set)
                        snprintf(buf, size, "%u", (unsigned) p->iso.uid);
                else
                        buf[0] = '\0';
        } else if (strcmp(key, "Group") == 0) {
                if (p->iso.group_set)
                        snprintf(buf, size, "%u", (unsigned) p->iso.gid);
                else
                        buf[0] = '\0';
        }
        else if (strcmp(key, "ProtectSystem") == 0) {
                static const char *const words[] = { "no", "yes", "full", "strict" };
                snprintf(buf, size, "%s", words[p->iso.protect_system]);
        } else if (strcmp(key, "ReadOnlyPaths") == 0 || strcmp(key, "ReadWritePaths") == 0 ||
                   strcmp(key, "InaccessiblePaths") == 0) {
                const policy_paths *ps = key[0] == 'I' ? &p->iso.inaccessible :
                                         key[4] == 'O' ? &p->iso.read_only : &p->iso.read_write;
                size_t off = 0;
                buf[0] = '\0';
                for (unsigned i = 0; i < ps->n && off < size; i++)
                        off += (size_t) snprintf(buf + off, size - off, "%s%s", i ? " " : "", ps->v[i]);
        } else
                return false;
        return true;
}

static const char *enforcer(corral_enforcer e, size_t *n_unenforced) {
        if (e == CORRAL_ENFORCER_NONE)
                (*n_unenforced)++;
        return corral_enforcer_to_string(e);
}

/* What enforces key here, or NULL for a key that is not a limit. */
static const char *enforced_by(const corral_policy *p, const char *key, const corral_enforcement *e,
                               corral_backend backend, size_t *n_unenforced) {
        if (strcmp(key, "MemoryMax") == 0 && e->memory)
                return enforcer(e->memory, n_unenforced);
        if (strcmp(key, "TasksMax") == 0 && e->tasks)
                return enforcer(e->tasks, n_unenforced);
        if (strcmp(key, "CPUQuota") == 0 && e->cpu_quota)
                return enforcer(e->cpu_quota, n_unenforced);
        if (strcmp(key, "CPUTimeMaxSec") == 0 && e->cpu_time)
                return enforcer(e->cpu_time, n_unenforced);
        if (strcmp(key, "RuntimeMaxSec") == 0 && e->wall_time)
                return enforcer(e->wall_time, n_unenforced);
        if (strcmp(key, "TimeoutStopSec") == 0)
                return backend == CORRAL_BACKEND_RLIMIT ? "monitor (session kill)" : "monitor (cgroup.kill)";
        if (strcmp(key, "MemoryRlimit") == 0 && p->memory_max != CORRAL_INFINITY)
                return backend == CORRAL_BACKEND_CGROUP2 ? "not used (memory.max)" : "rlimit";
        if (strcmp(key, "SystemCallFilter") == 0 && p->filter.set)
                return "seccomp (denied calls go to the monitor: errno or kill, with evidence)";
        if (strcmp(key, "SystemCallArchitectures") == 0 && p->filter.arch_native)
                return "seccomp (other ABIs: kill, with evidence)";
        {
                static const struct {
                        const char *key, *by;
                } ns_keys[] = {
                        { "PrivateNetwork", "netns (lo only, via libnl)" }, { "PrivateTmp", "mount-ns (tmpfs)" },
                        { "PrivateIPC", "ipc-ns" },                         { "ProtectSystem", "mount-ns (read-only binds)" },
                        { "ReadOnlyPaths", "mount-ns" },                    { "ReadWritePaths", "mount-ns" },
                        { "InaccessiblePaths", "mount-ns" },        { "PrivatePIDs", "pid-ns (corral's init as pid 1)" },
                };
                const policy_isolation *iso = &p->iso;
                for (size_t i = 0; i < ELEMENTSOF(ns_keys); i++) {
                        bool set;
                        if (strcmp(key, ns_keys[i].key) != 0)
                                continue;
                        set = (i == 0 && iso->private_network) || (i == 1 && iso->private_tmp) ||
                              (i == 2 && iso->private_ipc) || (i == 3 && iso->protect_system) ||
                              (i == 4 && iso->read_only.n) || (i == 5 && iso->read_write.n) ||
                              (i == 6 && iso->inaccessible.n) || (i == 7 && iso->private_pids);
                        if (!set)
                                return NULL;
                        if (ns_privileged())
                                return ns_keys[i].by;
                        static _Thread_local char buf[NS_WHY_MAX + 64];
                        char uwhy[NS_WHY_MAX];
                        if (ns_userns_available(uwhy, sizeof uwhy) == 1) {
                                snprintf(buf, sizeof buf, "user-ns+%s", i == 0 ? "netns (lo only, up)" : ns_keys[i].by);
                                return buf;
                        }
                        (*n_unenforced)++;
                        snprintf(buf, sizeof buf, "none (%s)", uwhy);
                        return buf;
                }
        }
        if ((strcmp(key, "DynamicUser") == 0 && p->iso.dynamic_user) ||
            (strcmp(key, "User") == 0 && p->iso.user_set) || (strcmp(key, "Group") == 0 && p->iso.group_set)) {
                if (geteuid() == 0)
                        return key[0] == 'D' ? "dynamic-user (uid 61184-65519, with PrivateTmp, PrivateIPC, "
                                               "ProtectSystem=strict)" :
                                               "setresuid";
                (*n_unenforced)++;
                return "refused here: needs root";
        }
        if (strcmp(key, "NoNewPrivileges") == 0 &&
            (p->no_new_privileges || p->filter.set || p->filter.arch_native))
                return "prctl(PR_SET_NO_NEW_PRIVS)";
        return NULL;
}

_public_ int corral_policy_explain(const corral_policy *p, char **ret_text) {
        corral_doctor_report rep;
        corral_enforcement e;
        corral_policy *defaults = NULL;
        size_t n_unenforced = 0, size = 0;
        char *buf = NULL;
        rl_set rl;
        FILE *m;
        int r;

        if (!p || !ret_text)
                return -EINVAL;
        r = corral_doctor(p, &rep);
        if (r < 0)
                return r;
        r = corral_policy_new(&defaults);
        if (r < 0)
                return r;
        rl_plan(p, rep.chosen, &rl, &e);

        m = open_memstream(&buf, &size);
        if (!m) {
                corral_policy_free(defaults);
                return -ENOMEM;
        }
        fprintf(m, "# backend here: %s%s\n", corral_backend_to_string(rep.chosen),
                p->backend == CORRAL_BACKEND_AUTO ? " (auto)" : "");
        if (p->backend != CORRAL_BACKEND_AUTO && rep.reason[p->backend][0])
                fprintf(m, "# Backend=%s is not usable here: %s\n", corral_backend_to_string(p->backend),
                        rep.reason[p->backend]);
        for (size_t i = 0; i < policy_key_count(); i++) {
                const char *key = policy_key_name(i), *by;
                char value[128] = "", dvalue[128] = "";
                _cleanup_free_ char *lvalue = NULL, *dlvalue = NULL;
                bool is_default;

                if (!format_value(p, key, value, sizeof value, &lvalue)) {
                        fprintf(m, "# %s: (no description)\n", key);
                        continue;
                }
                (void) format_value(defaults, key, dvalue, sizeof dvalue, &dlvalue);
                is_default = strcmp(lvalue ? lvalue : value, dlvalue ? dlvalue : dvalue) == 0;
                by = enforced_by(p, key, &e, rep.chosen, &n_unenforced);

                int w = fprintf(m, "%s%s=%s", is_default ? "# " : "", key, lvalue ? lvalue : value);
                if (by || is_default)
                        fprintf(m, "%*s# %s%s%s", w < 36 ? 36 - w : 1, "", is_default ? "default" : "",
                                is_default && by ? ", " : "", by ? by : "");
                fputc('\n', m);
        }
        corral_policy_free(defaults);
        if (fclose(m) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret_text = buf;
        return (int) n_unenforced;
}
