/* SPDX-License-Identifier: MIT */
/*
 * The policy object: its defaults, the properties a user may set (systemd names where
 * systemd has one, see SPEC.md "Limits") and their validation, and the string tables of
 * the public enums. A value is applied only when it is valid, so a failed set leaves the
 * policy as it was. Touches no kernel interface beyond sysconf() for MemoryMax=N%.
 */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "corral.h"
#include "filter.h"
#include "macro.h"
#include "parse.h"
#include "policy.h"

_Static_assert(CORRAL_INFINITY == PARSE_INFINITY, "one spelling of infinity");

/* How much of a bad key or value a diag quotes. */
#define DIAG_QUOTE_MAX 64

typedef int (*policy_setter)(corral_policy *p, const char *value, char *why);

_public_ int corral_policy_new(corral_policy **ret) {
        corral_policy *p;

        if (!ret)
                return -EINVAL;

        p = malloc(sizeof(*p));
        if (!p)
                return -ENOMEM;

        *p = (corral_policy){
                .memory_max = CORRAL_INFINITY,
                .tasks_max = CORRAL_INFINITY,
                .cpu_quota_ppm = 0,
                .runtime_max_usec = CORRAL_INFINITY,
                .cpu_time_max_usec = CORRAL_INFINITY,
                .timeout_stop_usec = POLICY_DEFAULT_GRACE_USEC,
                .backend = CORRAL_BACKEND_AUTO,
                .memory_rlimit = POLICY_MEMORY_RLIMIT_DATA,
                .refuse_unenforced = false,
                .capture_output = false,
                .capture_max = POLICY_DEFAULT_CAPTURE_MAX,
                .output_max = POLICY_DEFAULT_OUTPUT_MAX,
                .start_method = CORRAL_START_FORK,
        };

        *ret = p;
        return 0;
}

_public_ corral_policy *corral_policy_free(corral_policy *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_assignments; i++)
                free(p->assignments[i]);
        free(p->assignments);
        free(p);
        return NULL;
}

uint64_t policy_physical_memory(void) {
        long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);

        if (pages <= 0 || page_size <= 0)
                return 0;
        if ((uint64_t) pages > (UINT64_MAX - 1) / (uint64_t) page_size)
                return UINT64_MAX - 1;
        return (uint64_t) pages * (uint64_t) page_size;
}

/* ---- the setters: validate into locals, assign last ---- */

_printf_(2, 3) static int why_fail(char *why, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, PARSE_WHY_MAX, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static int set_memory_max(corral_policy *p, const char *value, char *why) {
        uint64_t total = policy_physical_memory(), v;
        int r;

        if (total == 0 && strchr(value, '%'))
                return why_fail(why, "physical memory size unknown, cannot take a percentage");

        r = parse_size_or_percent(value, total, &v, why);
        if (r < 0)
                return r;
        if (v == 0)
                return why_fail(why, "value must be greater than 0");

        p->memory_max = v;
        return 0;
}

static int set_tasks_max(corral_policy *p, const char *value, char *why) {
        uint64_t v;
        int r;

        r = parse_count(value, &v, why);
        if (r < 0)
                return r;

        p->tasks_max = v;
        return 0;
}

static int set_cpu_quota(corral_policy *p, const char *value, char *why) {
        uint64_t v = 0;
        int r;

        /* As in systemd, an empty CPUQuota= removes the quota. */
        if (value[strspn(value, " \t\n\r")] != '\0') {
                r = parse_percent_ppm(value, &v, why);
                if (r < 0)
                        return r;
        }

        p->cpu_quota_ppm = v;
        return 0;
}

/* A limit on time: 0 would stop every run at once, so it must be positive. */
static int parse_time_limit(const char *value, uint64_t *ret, char *why) {
        uint64_t v;
        int r;

        r = parse_duration(value, &v, why);
        if (r < 0)
                return r;
        if (v == 0)
                return why_fail(why, "value must be greater than 0");

        *ret = v;
        return 0;
}

static int set_runtime_max(corral_policy *p, const char *value, char *why) {
        return parse_time_limit(value, &p->runtime_max_usec, why);
}

static int set_cpu_time_max(corral_policy *p, const char *value, char *why) {
        return parse_time_limit(value, &p->cpu_time_max_usec, why);
}

static int set_timeout_stop(corral_policy *p, const char *value, char *why) {
        uint64_t v;
        int r;

        r = parse_duration(value, &v, why);
        if (r < 0)
                return r;
        /* An endless grace would let a process that ignores SIGTERM outlive its run. */
        if (v == PARSE_INFINITY)
                return why_fail(why, "value must be finite");

        p->timeout_stop_usec = v;
        return 0;
}

/* A buffer size: finite, 0 allowed (capture nothing). */
static int parse_buffer_size(const char *value, uint64_t *ret, char *why) {
        uint64_t v;
        int r;

        r = parse_size(value, &v, why);
        if (r < 0)
                return r;
        if (v == PARSE_INFINITY)
                return why_fail(why, "value must be finite");
        if (v > SIZE_MAX)
                return why_fail(why, "value too large");

        *ret = v;
        return 0;
}

static int set_capture_max(corral_policy *p, const char *value, char *why) {
        return parse_buffer_size(value, &p->capture_max, why);
}

static int set_output_max(corral_policy *p, const char *value, char *why) {
        return parse_buffer_size(value, &p->output_max, why);
}

/* Words are compared without the blanks around them, like the numbers. */
static int find_word(const char *value, const char *const *words, size_t n, bool icase) {
        size_t len;

        value += strspn(value, " \t\n\r");
        len = strlen(value);
        while (len > 0 && strchr(" \t\n\r", value[len - 1]))
                len--;

        for (size_t i = 0; i < n; i++) {
                if (!words[i] || strlen(words[i]) != len)
                        continue;
                if (icase ? strncasecmp(value, words[i], len) == 0 :
                            strncmp(value, words[i], len) == 0)
                        return (int) i;
        }
        return -EINVAL;
}

static const char *const backend_table[_CORRAL_BACKEND_MAX] = {
        [CORRAL_BACKEND_AUTO] = "auto",
        [CORRAL_BACKEND_CGROUP2] = "cgroup2",
        [CORRAL_BACKEND_CGROUP2_CORE] = "cgroup2-core",
        [CORRAL_BACKEND_RLIMIT] = "rlimit",
};

static int set_backend(corral_policy *p, const char *value, char *why) {
        int i = find_word(value, backend_table, ELEMENTSOF(backend_table), false);

        if (i < 0)
                return why_fail(why, "expected auto, cgroup2, cgroup2-core or rlimit");
        p->backend = (corral_backend) i;
        return 0;
}

static int set_memory_rlimit(corral_policy *p, const char *value, char *why) {
        static const char *const words[] = {
                [POLICY_MEMORY_RLIMIT_DATA] = "data",
                [POLICY_MEMORY_RLIMIT_AS] = "as",
        };
        int i = find_word(value, words, ELEMENTSOF(words), false);

        if (i < 0)
                return why_fail(why, "expected data or as");
        p->memory_rlimit = (policy_memory_rlimit) i;
        return 0;
}

static int set_unenforced(corral_policy *p, const char *value, char *why) {
        static const char *const words[] = { "allow", "refuse" };
        int i = find_word(value, words, ELEMENTSOF(words), false);

        if (i < 0)
                return why_fail(why, "expected allow or refuse");
        p->refuse_unenforced = i == 1;
        return 0;
}

static int set_capture_output(corral_policy *p, const char *value, char *why) {
        /* systemd's booleans, case-insensitive as there; even indices are false. */
        static const char *const words[] = { "no", "yes", "false", "true", "0", "1", "off", "on" };
        int i = find_word(value, words, ELEMENTSOF(words), true);

        if (i < 0)
                return why_fail(why, "expected a boolean: yes, no, true, false, on, off, 1 or 0");
        p->capture_output = i % 2 == 1;
        return 0;
}

static int set_start_method(corral_policy *p, const char *value, char *why) {
        static const char *const words[] = {
                [CORRAL_START_FORK] = "fork",
                [CORRAL_START_FORKSERVER] = "forkserver",
        };
        int i = find_word(value, words, ELEMENTSOF(words), false);

        if (i < 0)
                return why_fail(why, "expected fork or forkserver");
        p->start_method = (corral_start_method) i;
        return 0;
}

/* A cgroup v2 directory: absolute ("/sys/fs/cgroup/corral" or "/corral", relative to the
 * cgroup2 mount), no "." or ".." components, nothing a path join could misread. */
static int set_cgroup_base(corral_policy *p, const char *value, char *why) {
        if (value[0] == '\0') {
                p->cgroup_base[0] = '\0';
                return 0;
        }
        if (value[0] != '/')
                return why_fail(why, "expected an absolute cgroup path (/sys/fs/cgroup/NAME or /NAME)");
        if (strlen(value) >= POLICY_CGROUP_BASE_MAX)
                return why_fail(why, "path too long");
        for (const char *c = value; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return why_fail(why, "control character in the path");
        for (const char *c = value; (c = strchr(c, '/')); c++) {
                size_t n = strcspn(c + 1, "/");
                if ((n == 1 && c[1] == '.') || (n == 2 && c[1] == '.' && c[2] == '.'))
                        return why_fail(why, "'.' and '..' are not allowed in the path");
        }
        snprintf(p->cgroup_base, sizeof p->cgroup_base, "%s", value);
        return 0;
}

/* ---- isolation: the filter (parsed by filter.c), namespaces and paths ---- */

static int parse_bool(const char *value, bool *ret, char *why) {
        static const char *const words[] = { "no", "yes", "false", "true", "0", "1", "off", "on" };
        int i = find_word(value, words, ELEMENTSOF(words), true);

        if (i < 0)
                return why_fail(why, "expected a boolean: yes, no, true, false, on, off, 1 or 0");
        *ret = i % 2 == 1;
        return 0;
}

static int set_syscall_filter(corral_policy *p, const char *value, char *why) {
        return filter_parse_filter(&p->filter, value, why);
}

static int set_syscall_error_number(corral_policy *p, const char *value, char *why) {
        return filter_parse_error_number(&p->filter, value, why);
}

static int set_syscall_architectures(corral_policy *p, const char *value, char *why) {
        return filter_parse_architectures(&p->filter, value, why);
}

static int set_no_new_privileges(corral_policy *p, const char *value, char *why) {
        return parse_bool(value, &p->no_new_privileges, why);
}

static int set_private_network(corral_policy *p, const char *value, char *why) {
        return parse_bool(value, &p->iso.private_network, why);
}

static int set_private_tmp(corral_policy *p, const char *value, char *why) {
        return parse_bool(value, &p->iso.private_tmp, why);
}

static int set_dynamic_user(corral_policy *p, const char *value, char *why) {
        return parse_bool(value, &p->iso.dynamic_user, why);
}

/* A name from the user (or group) database, or a number; resolved now, in the caller. */
static int parse_id(const char *value, bool group, uint32_t *ret, char *why) {
        char buf[4096], name[256];
        const char *v = value + strspn(value, " \t");
        size_t len = strcspn(v, " \t\r\n");
        char *end;

        if (len == 0 || len >= sizeof name || v[len + strspn(v + len, " \t\r\n")] != '\0')
                return why_fail(why, "expected one %s name or number", group ? "group" : "user");
        memcpy(name, v, len);
        name[len] = '\0';
        errno = 0;
        unsigned long n = strtoul(name, &end, 10);
        if (name[0] >= '0' && name[0] <= '9') {
                if (errno || *end || n >= 0xFFFFFFFFUL)
                        return why_fail(why, "invalid id '%s'", name);
                *ret = (uint32_t) n;
                return 0;
        }
        if (group) {
                struct group g, *gr = NULL;
                if (getgrnam_r(name, &g, buf, sizeof buf, &gr) != 0 || !gr)
                        return why_fail(why, "no group '%s'", name);
                *ret = gr->gr_gid;
        } else {
                struct passwd pw, *pwr = NULL;
                if (getpwnam_r(name, &pw, buf, sizeof buf, &pwr) != 0 || !pwr)
                        return why_fail(why, "no user '%s'", name);
                *ret = pwr->pw_uid;
        }
        return 0;
}

static int set_user(corral_policy *p, const char *value, char *why) {
        uint32_t id;
        int r = parse_id(value, false, &id, why);
        if (r < 0)
                return r;
        p->iso.user_set = true;
        p->iso.uid = id;
        return 0;
}

static int set_group(corral_policy *p, const char *value, char *why) {
        uint32_t id;
        int r = parse_id(value, true, &id, why);
        if (r < 0)
                return r;
        p->iso.group_set = true;
        p->iso.gid = id;
        return 0;
}

static int set_private_pids(corral_policy *p, const char *value, char *why) {
        return parse_bool(value, &p->iso.private_pids, why);
}

static int set_private_ipc(corral_policy *p, const char *value, char *why) {
        return parse_bool(value, &p->iso.private_ipc, why);
}

static int set_protect_system(corral_policy *p, const char *value, char *why) {
        static const char *const words[] = {
                [POLICY_PROTECT_SYSTEM_NO] = "no",
                [POLICY_PROTECT_SYSTEM_YES] = "yes",
                [POLICY_PROTECT_SYSTEM_FULL] = "full",
                [POLICY_PROTECT_SYSTEM_STRICT] = "strict",
        };
        bool b = false;
        int i = find_word(value, words, ELEMENTSOF(words), false);

        if (i >= 0) {
                p->iso.protect_system = (policy_protect_system) i;
                return 0;
        }
        /* systemd takes the other booleans too */
        if (parse_bool(value, &b, why) < 0)
                return why_fail(why, "expected no, yes, full or strict");
        p->iso.protect_system = b ? POLICY_PROTECT_SYSTEM_YES : POLICY_PROTECT_SYSTEM_NO;
        return 0;
}

/* A space-separated list of absolute paths (a leading '-': ignore if missing); each
 * assignment adds, an empty one resets. */
static int set_paths(policy_paths *paths, const char *value, char *why) {
        policy_paths t = *paths;
        const char *c = value + strspn(value, " \t\n\r");

        if (!*c) {
                memset(paths, 0, sizeof *paths);
                return 0;
        }
        while (*c) {
                size_t len = strcspn(c, " \t\n\r");
                const char *path = *c == '-' ? c + 1 : c;
                size_t plen = len - (size_t) (path - c);

                if (plen == 0 || path[0] != '/')
                        return why_fail(why, "'%.*s' is not an absolute path", (int) len, c);
                if (len >= POLICY_PATH_MAX)
                        return why_fail(why, "path longer than %d bytes", POLICY_PATH_MAX - 1);
                for (size_t k = 0; k + 1 < plen; k++)
                        if (path[k] == '/' && path[k + 1] == '.' &&
                            (k + 2 == plen || path[k + 2] == '/' ||
                             (path[k + 2] == '.' && (k + 3 == plen || path[k + 3] == '/'))))
                                return why_fail(why, "'%.*s': '.' and '..' are not allowed", (int) len, c);
                if (t.n >= POLICY_PATHS_MAX)
                        return why_fail(why, "at most %d paths", POLICY_PATHS_MAX);
                memcpy(t.v[t.n], c, len);
                t.v[t.n][len] = '\0';
                t.n++;
                c += len;
                c += strspn(c, " \t\n\r");
        }
        *paths = t;
        return 0;
}

static int set_read_only_paths(corral_policy *p, const char *value, char *why) {
        return set_paths(&p->iso.read_only, value, why);
}

static int set_read_write_paths(corral_policy *p, const char *value, char *why) {
        return set_paths(&p->iso.read_write, value, why);
}

static int set_inaccessible_paths(corral_policy *p, const char *value, char *why) {
        return set_paths(&p->iso.inaccessible, value, why);
}

static const struct {
        const char *key;
        policy_setter set;
} properties[] = {
        { "MemoryMax", set_memory_max },
        { "TasksMax", set_tasks_max },
        { "CPUQuota", set_cpu_quota },
        { "RuntimeMaxSec", set_runtime_max },
        { "CPUTimeMaxSec", set_cpu_time_max },
        { "TimeoutStopSec", set_timeout_stop },
        { "Backend", set_backend },
        { "MemoryRlimit", set_memory_rlimit },
        { "Unenforced", set_unenforced },
        { "CaptureOutput", set_capture_output },
        { "CaptureMax", set_capture_max },
        { "OutputMax", set_output_max },
        { "StartMethod", set_start_method },
        { "CGroupBase", set_cgroup_base },
        { "SystemCallFilter", set_syscall_filter },
        { "SystemCallErrorNumber", set_syscall_error_number },
        { "SystemCallArchitectures", set_syscall_architectures },
        { "NoNewPrivileges", set_no_new_privileges },
        { "PrivateNetwork", set_private_network },
        { "PrivateTmp", set_private_tmp },
        { "PrivateIPC", set_private_ipc },
        { "PrivatePIDs", set_private_pids },
        { "DynamicUser", set_dynamic_user },
        { "User", set_user },
        { "Group", set_group },
        { "ProtectSystem", set_protect_system },
        { "ReadOnlyPaths", set_read_only_paths },
        { "ReadWritePaths", set_read_write_paths },
        { "InaccessiblePaths", set_inaccessible_paths },
};

/* ---- the assignment log (policy.h) ---- */

static int record_assignment(corral_policy *p, const char *key, const char *value) {
        char **a = realloc(p->assignments, (p->n_assignments + 1) * sizeof *a);
        if (!a)
                return -ENOMEM;
        p->assignments = a;
        if (asprintf(&a[p->n_assignments], "%s=%s", key, value) < 0)
                return -ENOMEM;
        p->n_assignments++;
        return 0;
}

char *const *policy_assignments(const corral_policy *p, size_t *ret_n) {
        *ret_n = p->n_assignments;
        return p->assignments;
}

_public_ int corral_policy_get_u64(const corral_policy *p, const char *key, uint64_t *ret) {
        if (!p || !key || !ret)
                return -EINVAL;
        const struct {
                const char *key;
                uint64_t value;
        } rows[] = {
                { "MemoryMax", p->memory_max },
                { "TasksMax", p->tasks_max },
                { "CPUQuota", p->cpu_quota_ppm },
                { "RuntimeMaxSec", p->runtime_max_usec },
                { "CPUTimeMaxSec", p->cpu_time_max_usec },
                { "TimeoutStopSec", p->timeout_stop_usec },
                { "CaptureMax", p->capture_max },
                { "OutputMax", p->output_max },
        };
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                if (strcmp(key, rows[i].key) == 0) {
                        *ret = rows[i].value;
                        return 0;
                }
        return -ENOENT;
}

/* ---- diagnostics ---- */

/* Fills diag (if any) with one line: control characters from the input become '?'. */
_printf_(2, 3) static int diag_fail(corral_diag *diag, const char *fmt, ...) {
        va_list ap;

        if (!diag)
                return -EINVAL;

        va_start(ap, fmt);
        vsnprintf(diag->message, sizeof(diag->message), fmt, ap);
        va_end(ap);

        for (char *c = diag->message; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        *c = '?';
        return -EINVAL;
}

/* printf arguments for a quoted input, cut to DIAG_QUOTE_MAX with "...". */
#define QUOTE(s) (strlen(s) > DIAG_QUOTE_MAX ? DIAG_QUOTE_MAX - 3 : (int) strlen(s)), (s), \
                 (strlen(s) > DIAG_QUOTE_MAX ? "..." : "")

size_t policy_key_count(void) {
        return ELEMENTSOF(properties);
}

const char *policy_key_name(size_t i) {
        return i < ELEMENTSOF(properties) ? properties[i].key : NULL;
}

int policy_set_why(corral_policy *p, const char *key, const char *value, char *why) {
        for (size_t i = 0; i < ELEMENTSOF(properties); i++)
                if (strcmp(key, properties[i].key) == 0) {
                        int r = properties[i].set(p, value, why);
                        /* policy files too: a client replays the log to corrald */
                        return r < 0 ? r : record_assignment(p, properties[i].key, value);
                }
        return -ENOENT;
}

_public_ int corral_policy_set(corral_policy *p, const char *key, const char *value,
                               corral_diag *diag) {
        char why[PARSE_WHY_MAX] = "";
        int r;

        if (!p || !key || !value)
                return diag_fail(diag, "invalid argument: policy, key and value are required");

        r = policy_set_why(p, key, value, why);
        if (r == -ENOENT)
                return diag_fail(diag, "unknown property '%.*s%s'", QUOTE(key));
        if (r < 0)
                return diag_fail(diag, "%s value '%.*s%s': %s", key, QUOTE(value), why);
        return 0;
}

_public_ int corral_policy_set_assignment(corral_policy *p, const char *assignment,
                                          corral_diag *diag) {
        _cleanup_free_ char *key = NULL;
        const char *eq, *start, *end;

        if (!p || !assignment)
                return diag_fail(diag, "invalid argument: policy and assignment are required");

        /* Blanks around the key are not part of it ("MemoryMax = 1G"). */
        eq = strchr(assignment, '=');
        start = assignment + strspn(assignment, " \t");
        end = eq;
        while (end && end > start && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        if (!eq || end == start)
                return diag_fail(diag, "malformed assignment '%.*s%s': expected Key=Value",
                                 QUOTE(assignment));

        key = strndup(start, (size_t) (end - start));
        if (!key) {
                diag_fail(diag, "out of memory");
                return -ENOMEM;
        }

        return corral_policy_set(p, key, eq + 1, diag);
}

/* ---- string tables ---- */

_public_ const char *corral_backend_to_string(corral_backend b) {
        if ((unsigned) b >= ELEMENTSOF(backend_table))
                return NULL;
        return backend_table[b];
}

_public_ int corral_backend_from_string(const char *s, corral_backend *ret) {
        if (!s || !ret)
                return -EINVAL;

        for (size_t i = 0; i < ELEMENTSOF(backend_table); i++)
                if (strcmp(s, backend_table[i]) == 0) {
                        *ret = (corral_backend) i;
                        return 0;
                }
        return -EINVAL;
}

_public_ const char *corral_status_to_string(corral_status s) {
        static const char *const table[_CORRAL_STATUS_MAX] = {
                [CORRAL_STATUS_OK] = "ok",
                [CORRAL_STATUS_EXITED] = "exited",
                [CORRAL_STATUS_SIGNALED] = "signaled",
                [CORRAL_STATUS_WALL_TIMEOUT] = "wall_timeout",
                [CORRAL_STATUS_CPU_TIMEOUT] = "cpu_timeout",
                [CORRAL_STATUS_MEMORY_LIMIT] = "memory_limit",
                [CORRAL_STATUS_INTERRUPTED] = "interrupted",
                [CORRAL_STATUS_SPAWN_ERROR] = "spawn_error",
                [CORRAL_STATUS_INTERNAL_ERROR] = "internal_error",
                [CORRAL_STATUS_SYSCALL_DENIED] = "syscall_denied",
        };

        if ((unsigned) s >= ELEMENTSOF(table))
                return NULL;
        return table[s];
}

_public_ const char *corral_enforcer_to_string(corral_enforcer e) {
        static const char *const table[_CORRAL_ENFORCER_MAX] = {
                [CORRAL_ENFORCER_UNSET] = NULL,
                [CORRAL_ENFORCER_CGROUP] = "cgroup",
                [CORRAL_ENFORCER_MONITOR] = "monitor",
                [CORRAL_ENFORCER_RLIMIT_AS] = "rlimit-as",
                [CORRAL_ENFORCER_RLIMIT_DATA] = "rlimit-data",
                [CORRAL_ENFORCER_RLIMIT_CPU] = "rlimit-cpu",
                [CORRAL_ENFORCER_RLIMIT_NPROC] = "rlimit-nproc",
                [CORRAL_ENFORCER_NONE] = "none",
        };

        if ((unsigned) e >= ELEMENTSOF(table))
                return NULL;
        return table[e];
}
