/* SPDX-License-Identifier: MIT */
/*
 * The result as SPEC's JSON object (jansson does the escaping), and the exit code
 * `corral run` derives from it.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral.h"
#include "macro.h"
#include "placement.h"
#include "result.h"

_public_ int corral_result_exit_code(const corral_result *r) {
        switch (r->status) {
        case CORRAL_STATUS_OK:
                return 0;
        case CORRAL_STATUS_EXITED:
                return r->exit_code;
        case CORRAL_STATUS_SIGNALED:
                return 128 + r->signal;
        case CORRAL_STATUS_WALL_TIMEOUT:
        case CORRAL_STATUS_CPU_TIMEOUT:
                return 124;
        case CORRAL_STATUS_MEMORY_LIMIT:
                return 137;
        case CORRAL_STATUS_INTERRUPTED:
                return 130;
        case CORRAL_STATUS_SPAWN_ERROR:
                return r->error_errno == ENOENT ? 127 : 126;
        case CORRAL_STATUS_SYSCALL_DENIED:
                return 128 + SIGSYS; /* what a shell shows for a seccomp kill */
        case CORRAL_STATUS_INTERNAL_ERROR:
        default:
                return 125;
        }
}

/* Bytes as a JSON string: invalid UTF-8 becomes U+FFFD so the JSON stays valid. */
static json_t *utf8_to_json(const char *data, size_t size) {
        json_t *s = json_stringn(data ? data : "", size);
        if (s)
                return s;
        char *clean = malloc(size * 3 + 1);
        if (!clean)
                return NULL;
        size_t n = 0;
        for (size_t i = 0; i < size;) {
                unsigned char c = (unsigned char) data[i];
                size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
                bool ok = len > 0 && i + len <= size;
                for (size_t k = 1; ok && k < len; k++)
                        ok = ((unsigned char) data[i + k] & 0xc0) == 0x80;
                if (ok) {
                        json_t *probe = json_stringn(data + i, len);
                        ok = probe != NULL;
                        json_decref(probe);
                }
                if (ok) {
                        memcpy(clean + n, data + i, len);
                        n += len;
                        i += len;
                } else {
                        memcpy(clean + n, "\xef\xbf\xbd", 3);
                        n += 3;
                        i++;
                }
        }
        json_t *s2 = json_stringn(clean, n);
        free(clean);
        return s2;
}

/* Messages quote the user's input (a command name, a path) and snprintf may cut a
 * multi-byte character in half: never let that cost the whole result. */
static json_t *string_or_null(const char *s) {
        return s && *s ? utf8_to_json(s, strlen(s)) : json_null();
}

static json_t *string_or_empty(const char *s) {
        return utf8_to_json(s, strlen(s));
}

static json_t *bytes_to_json(const corral_bytes *b) {
        return utf8_to_json((const char *) b->data, b->size);
}

/* jansson's integers are int64: a count past it (MemoryMax=15E) is capped, not wrapped. */
static json_int_t count(uint64_t v) {
        return v > INT64_MAX ? INT64_MAX : (json_int_t) v;
}

static json_t *enforcement_to_json(const corral_result *r) {
        const corral_enforcement *e = &r->enforcement;
        const corral_isolation *iso = &r->isolation;
        json_t *o = json_object();
        const struct {
                const char *key;
                corral_enforcer value;
        } rows[] = {
                { "memory", e->memory },       { "tasks", e->tasks },       { "cpu_quota", e->cpu_quota },
                { "cpu_time", e->cpu_time },   { "wall_time", e->wall_time },
        };
        for (size_t i = 0; o && i < ELEMENTSOF(rows); i++)
                if (rows[i].value != CORRAL_ENFORCER_UNSET)
                        json_object_set_new(o, rows[i].key, json_string(corral_enforcer_to_string(rows[i].value)));
        const struct {
                const char *key, *value;
        } iso_rows[] = {
                { "syscall_filter", iso->syscall_filter },   { "no_new_privileges", iso->no_new_privileges },
                { "private_network", iso->private_network }, { "private_tmp", iso->private_tmp },
                { "protect_system", iso->protect_system },   { "paths", iso->paths },
                { "private_pids", iso->private_pids },       { "private_ipc", iso->private_ipc },
                { "die_with_corral", iso->die_with_corral },   { "user", iso->user },
        };
        for (size_t i = 0; o && i < ELEMENTSOF(iso_rows); i++)
                if (iso_rows[i].value)
                        json_object_set_new(o, iso_rows[i].key, json_string(iso_rows[i].value));
        return o;
}

static json_t *evidence_to_json(const corral_result *r) {
        json_t *signals = json_array();
        for (size_t i = 0; signals && i < r->evidence.n_signals_sent; i++) {
                char name[32];
                const char *abbrev = sigabbrev_np(r->evidence.signals_sent[i].signal);
                snprintf(name, sizeof name, "SIG%s", abbrev ? abbrev : "UNKNOWN");
                json_array_append_new(signals, json_pack("{s:s, s:f}", "signal", name, "at_s",
                                                         r->evidence.signals_sent[i].at_s));
        }
        return json_pack("{s:o, s:f, s:o, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:o}",
                         "limit_hit", string_or_null(r->evidence.limit_hit),
                         "deadline_s", r->evidence.deadline_s,
                         "signals_sent", signals ? signals : json_null(),
                         "oom", count(r->evidence.oom),
                         "oom_kill", count(r->evidence.oom_kill),
                         "oom_group_kill", count(r->evidence.oom_group_kill),
                         "pids_max", count(r->evidence.pids_max),
                         "cpu_throttled_s", r->evidence.cpu_throttled_s,
                         "memory_max_bytes", count(r->evidence.memory_max_bytes),
                         "rss_peak_sampled_bytes", count(r->evidence.rss_peak_sampled_bytes),
                         "inferred", string_or_null(r->evidence.inferred));
}

/* JSON has no NaN or infinity: a time that is neither a measurement nor a limit. */
static bool times_finite(const corral_result *r) {
        bool ok = isfinite(r->wall_time_s) && isfinite(r->cpu_time_s) && isfinite(r->user_time_s) &&
                  isfinite(r->system_time_s) && isfinite(r->evidence.deadline_s) &&
                  isfinite(r->evidence.cpu_throttled_s) && r->evidence.n_signals_sent <= CORRAL_MAX_SIGNALS_SENT;
        for (size_t i = 0; ok && i < r->evidence.n_signals_sent; i++)
                ok = isfinite(r->evidence.signals_sent[i].at_s);
        return ok;
}

_public_ int corral_result_to_json(const corral_result *r, char **ret_json) {
        if (!r || !ret_json || !times_finite(r) || !corral_status_to_string(r->status) ||
            !corral_backend_to_string(r->backend))
                return -EINVAL;
        json_t *o = json_pack("{s:s, s:o, s:o, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:s, s:b, s:o}",
                              "status", corral_status_to_string(r->status),
                              "exit_code", r->has_exit_code ? json_integer(r->exit_code) : json_null(),
                              "signal", r->signal ? json_integer(r->signal) : json_null(),
                              "wall_time_s", r->wall_time_s,
                              "cpu_time_s", r->cpu_time_s,
                              "user_time_s", r->user_time_s,
                              "system_time_s", r->system_time_s,
                              "memory_peak_bytes", count(r->memory_peak_bytes),
                              "oom_kills", count(r->oom_kills),
                              "pids_peak", count(r->pids_peak),
                              "pids_limit_hits", count(r->pids_limit_hits),
                              "backend", corral_backend_to_string(r->backend),
                              "precise", r->precise,
                              "error", string_or_null(r->error));
        if (!o)
                return -ENOMEM;
        /* json_object_set_new() takes a NULL value as a failure (and frees nothing). */
        int fail = json_object_set_new(o, "enforcement", enforcement_to_json(r));
        json_t *evidence = evidence_to_json(r);
        if (evidence && r->syscall_denied.denied) {
                const corral_syscall_denied *d = &r->syscall_denied;
                const char *e = d->errno_answer ? strerrorname_np(d->errno_answer) : NULL;
                fail |= json_object_set_new(evidence, "syscall_denied",
                                            json_pack("{s:o, s:i, s:o, s:s, s:o, s:I}", "name",
                                                      utf8_to_json(d->name, strnlen(d->name, sizeof d->name)),
                                                      "nr", d->nr, "arch",
                                                      utf8_to_json(d->arch, strnlen(d->arch, sizeof d->arch)),
                                                      "action", d->errno_answer ? "errno" : "kill", "errno",
                                                      e ? json_string(e) : json_null(), "count", count(d->count)));
        }
        if (evidence && r->isolation.user) {
                fail |= json_object_set_new(evidence, "uid", json_integer(r->isolation.uid));
                fail |= json_object_set_new(evidence, "gid", json_integer(r->isolation.gid));
        }
        corral_placement pl;
        /* Placement is per process: the rule that gave this process its base. */
        if (evidence && place_current(&pl))
                fail |= json_object_set_new(evidence, "placement",
                                            json_pack("{s:s, s:i, s:o, s:o}", "rule",
                                                      corral_placement_rule_to_string(pl.rule), "rule_number",
                                                      (int) pl.rule, "base", string_or_null(pl.base), "unit",
                                                      string_or_null(pl.unit)));
        else if (evidence)
                fail |= json_object_set_new(evidence, "placement", json_null());
        fail |= json_object_set_new(o, "evidence", evidence);
        if (r->stdout_capture.data || r->stderr_capture.data || r->stdout_capture.truncated) {
                fail |= json_object_set_new(o, "stdout", bytes_to_json(&r->stdout_capture));
                fail |= json_object_set_new(o, "stderr", bytes_to_json(&r->stderr_capture));
                fail |= json_object_set_new(o, "stdout_truncated", json_boolean(r->stdout_capture.truncated));
                fail |= json_object_set_new(o, "stderr_truncated", json_boolean(r->stderr_capture.truncated));
        }
        if (r->fn_output.data)
                fail |= json_object_set_new(o, "output_bytes", json_integer(count(r->fn_output.size)));
        if (r->crash_report)
                fail |= json_object_set_new(o, "crash_report", string_or_empty(r->crash_report));

        char *s = fail ? NULL : json_dumps(o, JSON_REAL_PRECISION(9));
        json_decref(o);
        if (!s)
                return -ENOMEM;
        *ret_json = s;
        return 0;
}

/* ---- the other way: a result object back into the struct (client API) ---- */

static int status_from_string(const char *s, corral_status *ret) {
        for (int i = 0; i < _CORRAL_STATUS_MAX; i++)
                if (s && strcmp(s, corral_status_to_string((corral_status) i)) == 0) {
                        *ret = (corral_status) i;
                        return 0;
                }
        return -EBADMSG;
}

static corral_enforcer enforcer_from_json(json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));
        for (int i = 1; s && i < _CORRAL_ENFORCER_MAX; i++)
                if (strcmp(s, corral_enforcer_to_string((corral_enforcer) i)) == 0)
                        return (corral_enforcer) i;
        return CORRAL_ENFORCER_UNSET;
}

static double real_of(json_t *o, const char *key) {
        return json_number_value(json_object_get(o, key));
}

static uint64_t u64_of(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t) json_integer_value(v) : 0;
}

static int bytes_from_json(json_t *o, const char *key, const char *trunc, corral_bytes *ret) {
        json_t *v = json_object_get(o, key);
        if (!json_is_string(v))
                return 0;
        size_t n = json_string_length(v);
        unsigned char *p = malloc(n + 1);
        if (!p)
                return -ENOMEM;
        memcpy(p, json_string_value(v), n);
        p[n] = '\0';
        *ret = (corral_bytes){ p, n, json_is_true(json_object_get(o, trunc)) };
        return 0;
}

int result_from_json(json_t *o, corral_result *r) {
        const char *backend = json_string_value(json_object_get(o, "backend"));
        *r = (corral_result){};
        if (!json_is_object(o) || status_from_string(json_string_value(json_object_get(o, "status")), &r->status) < 0 ||
            !backend || corral_backend_from_string(backend, &r->backend) < 0)
                return -EBADMSG;
        json_t *v = json_object_get(o, "exit_code");
        if (json_is_integer(v)) {
                r->has_exit_code = true;
                r->exit_code = (int) json_integer_value(v);
        }
        v = json_object_get(o, "signal");
        if (json_is_integer(v))
                r->signal = (int) json_integer_value(v);
        r->wall_time_s = real_of(o, "wall_time_s");
        r->cpu_time_s = real_of(o, "cpu_time_s");
        r->user_time_s = real_of(o, "user_time_s");
        r->system_time_s = real_of(o, "system_time_s");
        r->memory_peak_bytes = u64_of(o, "memory_peak_bytes");
        r->oom_kills = u64_of(o, "oom_kills");
        r->pids_peak = u64_of(o, "pids_peak");
        r->pids_limit_hits = u64_of(o, "pids_limit_hits");
        r->precise = json_is_true(json_object_get(o, "precise"));
        const char *error = json_string_value(json_object_get(o, "error"));
        if (error)
                snprintf(r->error, sizeof r->error, "%s", error);
        /* errno is not in the JSON; the exit code needs it for spawn_error (127 vs 126). */
        if (r->status == CORRAL_STATUS_SPAWN_ERROR && error &&
            (strstr(error, "command not found") || strstr(error, "No such file or directory")))
                r->error_errno = ENOENT;

        json_t *e = json_object_get(o, "enforcement");
        r->enforcement = (corral_enforcement){
                enforcer_from_json(e, "memory"),    enforcer_from_json(e, "tasks"),
                enforcer_from_json(e, "cpu_quota"), enforcer_from_json(e, "cpu_time"),
                enforcer_from_json(e, "wall_time"),
        };

        json_t *ev = json_object_get(o, "evidence");
        r->evidence.limit_hit = json_string_value(json_object_get(ev, "limit_hit"));
        r->evidence.deadline_s = real_of(ev, "deadline_s");
        json_t *sigs = json_object_get(ev, "signals_sent"), *sig;
        size_t i;
        json_array_foreach(sigs, i, sig) {
                if (r->evidence.n_signals_sent >= CORRAL_MAX_SIGNALS_SENT)
                        break;
                const char *name = json_string_value(json_object_get(sig, "signal"));
                int num = 0;
                for (int k = 1; name && k < NSIG && !num; k++) {
                        const char *abbrev = sigabbrev_np(k);
                        if (abbrev && strncmp(name, "SIG", 3) == 0 && strcmp(name + 3, abbrev) == 0)
                                num = k;
                }
                r->evidence.signals_sent[r->evidence.n_signals_sent++] =
                        (corral_signal_sent){ num, real_of(sig, "at_s") };
        }
        r->evidence.oom = u64_of(ev, "oom");
        r->evidence.oom_kill = u64_of(ev, "oom_kill");
        r->evidence.oom_group_kill = u64_of(ev, "oom_group_kill");
        r->evidence.pids_max = u64_of(ev, "pids_max");
        r->evidence.cpu_throttled_s = real_of(ev, "cpu_throttled_s");
        r->evidence.memory_max_bytes = u64_of(ev, "memory_max_bytes");
        r->evidence.rss_peak_sampled_bytes = u64_of(ev, "rss_peak_sampled_bytes");
        r->evidence.inferred = json_string_value(json_object_get(ev, "inferred"));

        if (bytes_from_json(o, "stdout", "stdout_truncated", &r->stdout_capture) < 0 ||
            bytes_from_json(o, "stderr", "stderr_truncated", &r->stderr_capture) < 0) {
                free(r->stdout_capture.data);
                r->stdout_capture = (corral_bytes){};
                return -ENOMEM;
        }
        return 0;
}
