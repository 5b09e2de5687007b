/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the JSON result writer (corral_result_to_json) round-tripped through
 * jansson. The input fills a corral_result with arbitrary field values (any bytes in the
 * strings and captures, any number in the counters and times); the writer must return
 * one line of valid JSON (RFC 8259: a NUL byte is \\u0000), without duplicate keys, that reads back to the same values:
 * exact integers, times to the 9 significant digits it writes, strings byte for byte
 * when they are UTF-8 (else still a string: corral replaces what is not). The only
 * failure it may report is -EINVAL for a time that is not a finite number, which no
 * run produces and JSON cannot hold.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>

#include "corral.h"
#include "fuzz.h"

typedef struct reader {
        const uint8_t *p;
        size_t left;
} reader;

static void take(reader *rd, void *out, size_t n) {
        size_t k = n < rd->left ? n : rd->left;
        memset(out, 0, n);
        memcpy(out, rd->p, k);
        rd->p += k;
        rd->left -= k;
}

static uint8_t u8(reader *rd) {
        uint8_t v;
        take(rd, &v, 1);
        return v;
}

static uint64_t u64(reader *rd) {
        uint64_t v;
        /* Mostly small numbers, sometimes all 64 bits. */
        uint8_t width = u8(rd) % 9;
        v = 0;
        take(rd, &v, width);
        return v;
}

static double real(reader *rd) {
        double v;
        if (u8(rd) & 1) {
                take(rd, &v, sizeof v); /* any bit pattern, NaN and infinities too */
                return v;
        }
        return (double) u64(rd) / 1e6;
}

/* A length-prefixed byte string of at most max bytes, copied into dst (NUL-terminated). */
static size_t bytes(reader *rd, char *dst, size_t max) {
        size_t n = u8(rd);
        n = n < max ? n : max;
        take(rd, dst, n);
        dst[n] = '\0';
        return n;
}

static bool is_utf8(const char *s, size_t n) {
        json_t *j = json_stringn(s, n);
        json_decref(j);
        return j != NULL;
}

static void check_string(json_t *o, const char *key, const char *want, size_t want_len) {
        json_t *v = json_object_get(o, key);
        fuzz_check(v != NULL, "key %s missing", key);
        if (!want) {
                fuzz_check(json_is_null(v), "%s should be null", key);
                return;
        }
        fuzz_check(json_is_string(v), "%s should be a string", key);
        if (is_utf8(want, want_len))
                fuzz_check(json_string_length(v) == want_len && memcmp(json_string_value(v), want, want_len) == 0,
                           "%s: string changed", key);
}

static void check_int(json_t *o, const char *key, uint64_t want) {
        json_t *v = json_object_get(o, key);
        fuzz_check(json_is_integer(v), "%s should be an integer", key);
        json_int_t got = json_integer_value(v);
        fuzz_check(got >= 0, "%s: %llu written as %lld", key, (unsigned long long) want, (long long) got);
        /* jansson's integers are int64: larger counts are capped, never wrapped. */
        uint64_t expected = want > INT64_MAX ? INT64_MAX : want;
        fuzz_check((uint64_t) got == expected, "%s: %llu written as %lld", key, (unsigned long long) want,
                   (long long) got);
}

static void check_real(json_t *o, const char *key, double want) {
        json_t *v = json_object_get(o, key);
        fuzz_check(json_is_number(v), "%s should be a number", key);
        double got = json_number_value(v);
        fuzz_check(fabs(got - want) <= fabs(want) * 1e-8, "%s: %.17g written as %.17g", key, want, got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        reader rd = { data, size };
        corral_result r = { 0 };
        char inferred[128], limit_hit[64], crash[512];
        static unsigned char out_buf[256], err_buf[256], fn_buf[256];

        r.status = (corral_status) (u8(&rd) % _CORRAL_STATUS_MAX);
        r.has_exit_code = u8(&rd) & 1;
        take(&rd, &r.exit_code, sizeof r.exit_code);
        take(&rd, &r.signal, sizeof r.signal);
        r.wall_time_s = real(&rd);
        r.cpu_time_s = real(&rd);
        r.user_time_s = real(&rd);
        r.system_time_s = real(&rd);
        r.memory_peak_bytes = u64(&rd);
        r.oom_kills = u64(&rd);
        r.pids_peak = u64(&rd);
        r.pids_limit_hits = u64(&rd);
        r.backend = (corral_backend) (u8(&rd) % _CORRAL_BACKEND_MAX);
        r.precise = u8(&rd) & 1;
        bytes(&rd, r.error, sizeof r.error - 1);
        size_t error_len = strlen(r.error);
        take(&rd, &r.error_errno, sizeof r.error_errno);
        r.enforcement.memory = (corral_enforcer) (u8(&rd) % _CORRAL_ENFORCER_MAX);
        r.enforcement.tasks = (corral_enforcer) (u8(&rd) % _CORRAL_ENFORCER_MAX);
        r.enforcement.cpu_quota = (corral_enforcer) (u8(&rd) % _CORRAL_ENFORCER_MAX);
        r.enforcement.cpu_time = (corral_enforcer) (u8(&rd) % _CORRAL_ENFORCER_MAX);
        r.enforcement.wall_time = (corral_enforcer) (u8(&rd) % _CORRAL_ENFORCER_MAX);
        bytes(&rd, limit_hit, sizeof limit_hit - 1);
        size_t limit_hit_len = strlen(limit_hit);
        r.evidence.limit_hit = u8(&rd) & 1 ? limit_hit : NULL;
        r.evidence.deadline_s = real(&rd);
        r.evidence.n_signals_sent = u8(&rd) % (CORRAL_MAX_SIGNALS_SENT + 1);
        for (size_t i = 0; i < r.evidence.n_signals_sent; i++) {
                take(&rd, &r.evidence.signals_sent[i].signal, sizeof(int));
                r.evidence.signals_sent[i].at_s = real(&rd);
        }
        r.evidence.oom = u64(&rd);
        r.evidence.oom_kill = u64(&rd);
        r.evidence.oom_group_kill = u64(&rd);
        r.evidence.pids_max = u64(&rd);
        r.evidence.cpu_throttled_s = real(&rd);
        r.evidence.memory_max_bytes = u64(&rd);
        r.evidence.rss_peak_sampled_bytes = u64(&rd);
        bytes(&rd, inferred, sizeof inferred - 1);
        size_t inferred_len = strlen(inferred);
        r.evidence.inferred = u8(&rd) & 1 ? inferred : NULL;
        uint8_t flags = u8(&rd);
        if (flags & 1) {
                r.stdout_capture.size = bytes(&rd, (char *) out_buf, sizeof out_buf - 1);
                r.stdout_capture.data = out_buf;
                r.stdout_capture.truncated = flags & 2;
                r.stderr_capture.size = bytes(&rd, (char *) err_buf, sizeof err_buf - 1);
                r.stderr_capture.data = err_buf;
                r.stderr_capture.truncated = flags & 4;
        }
        if (flags & 8) {
                r.fn_output.size = bytes(&rd, (char *) fn_buf, sizeof fn_buf - 1);
                r.fn_output.data = fn_buf;
        }
        bytes(&rd, crash, sizeof crash - 1);
        size_t crash_len = strlen(crash);
        r.crash_report = flags & 16 ? crash : NULL;

        bool finite = isfinite(r.wall_time_s) && isfinite(r.cpu_time_s) && isfinite(r.user_time_s) &&
                      isfinite(r.system_time_s) && isfinite(r.evidence.deadline_s) &&
                      isfinite(r.evidence.cpu_throttled_s);
        for (size_t i = 0; i < r.evidence.n_signals_sent; i++)
                finite = finite && isfinite(r.evidence.signals_sent[i].at_s);

        char *text = NULL;
        int ret = corral_result_to_json(&r, &text);
        if (!finite) {
                fuzz_check(ret == -EINVAL && !text, "a non-finite time: %d", ret);
                return 0;
        }
        fuzz_check(ret == 0 && text, "corral_result_to_json failed: %d", ret);
        fuzz_check(!strchr(text, '\n'), "not one line");

        json_error_t err;
        json_t *o = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
        fuzz_check(json_is_object(o), "not a JSON object: %s: %s", err.text, text);

        check_string(o, "status", corral_status_to_string(r.status), strlen(corral_status_to_string(r.status)));
        json_t *ec = json_object_get(o, "exit_code");
        if (r.has_exit_code)
                fuzz_check(json_is_integer(ec) && json_integer_value(ec) == r.exit_code, "exit_code");
        else
                fuzz_check(json_is_null(ec), "exit_code should be null");
        json_t *sig = json_object_get(o, "signal");
        if (r.signal)
                fuzz_check(json_is_integer(sig) && json_integer_value(sig) == r.signal, "signal");
        else
                fuzz_check(json_is_null(sig), "signal should be null");
        check_real(o, "wall_time_s", r.wall_time_s);
        check_real(o, "cpu_time_s", r.cpu_time_s);
        check_real(o, "user_time_s", r.user_time_s);
        check_real(o, "system_time_s", r.system_time_s);
        check_int(o, "memory_peak_bytes", r.memory_peak_bytes);
        check_int(o, "oom_kills", r.oom_kills);
        check_int(o, "pids_peak", r.pids_peak);
        check_int(o, "pids_limit_hits", r.pids_limit_hits);
        check_string(o, "backend", corral_backend_to_string(r.backend), strlen(corral_backend_to_string(r.backend)));
        fuzz_check(json_is_boolean(json_object_get(o, "precise")) &&
                           json_is_true(json_object_get(o, "precise")) == r.precise, "precise");
        check_string(o, "error", error_len ? r.error : NULL, error_len);

        json_t *enf = json_object_get(o, "enforcement");
        fuzz_check(json_is_object(enf), "enforcement");
        const struct {
                const char *key;
                corral_enforcer e;
        } rows[] = { { "memory", r.enforcement.memory },       { "tasks", r.enforcement.tasks },
                     { "cpu_quota", r.enforcement.cpu_quota }, { "cpu_time", r.enforcement.cpu_time },
                     { "wall_time", r.enforcement.wall_time } };
        size_t n_set = 0;
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
                if (rows[i].e == CORRAL_ENFORCER_UNSET) {
                        fuzz_check(!json_object_get(enf, rows[i].key), "enforcement.%s for an unset limit",
                                   rows[i].key);
                        continue;
                }
                n_set++;
                const char *name = corral_enforcer_to_string(rows[i].e);
                check_string(enf, rows[i].key, name, strlen(name));
        }
        fuzz_check(json_object_size(enf) == n_set, "enforcement has extra keys");

        json_t *ev = json_object_get(o, "evidence");
        fuzz_check(json_is_object(ev), "evidence");
        check_string(ev, "limit_hit", r.evidence.limit_hit && limit_hit_len ? limit_hit : NULL, limit_hit_len);
        check_real(ev, "deadline_s", r.evidence.deadline_s);
        json_t *sigs = json_object_get(ev, "signals_sent");
        fuzz_check(json_is_array(sigs) && json_array_size(sigs) == r.evidence.n_signals_sent, "signals_sent");
        for (size_t i = 0; i < r.evidence.n_signals_sent; i++) {
                json_t *s = json_array_get(sigs, i);
                const char *name = json_string_value(json_object_get(s, "signal"));
                fuzz_check(name && strncmp(name, "SIG", 3) == 0, "signals_sent[%zu].signal", i);
                const char *abbrev = sigabbrev_np(r.evidence.signals_sent[i].signal);
                if (abbrev)
                        fuzz_check(strcmp(name + 3, abbrev) == 0, "signals_sent[%zu]: %s", i, name);
                check_real(s, "at_s", r.evidence.signals_sent[i].at_s);
        }
        check_int(ev, "oom", r.evidence.oom);
        check_int(ev, "oom_kill", r.evidence.oom_kill);
        check_int(ev, "oom_group_kill", r.evidence.oom_group_kill);
        check_int(ev, "pids_max", r.evidence.pids_max);
        check_real(ev, "cpu_throttled_s", r.evidence.cpu_throttled_s);
        check_int(ev, "memory_max_bytes", r.evidence.memory_max_bytes);
        check_int(ev, "rss_peak_sampled_bytes", r.evidence.rss_peak_sampled_bytes);
        check_string(ev, "inferred", r.evidence.inferred && inferred_len ? inferred : NULL, inferred_len);

        if (r.stdout_capture.data) {
                check_string(o, "stdout", (char *) out_buf, r.stdout_capture.size);
                check_string(o, "stderr", (char *) err_buf, r.stderr_capture.size);
                fuzz_check(json_is_boolean(json_object_get(o, "stdout_truncated")), "stdout_truncated");
                fuzz_check(json_is_true(json_object_get(o, "stdout_truncated")) == r.stdout_capture.truncated,
                           "stdout_truncated");
                fuzz_check(json_is_true(json_object_get(o, "stderr_truncated")) == r.stderr_capture.truncated,
                           "stderr_truncated");
        } else
                fuzz_check(!json_object_get(o, "stdout") && !json_object_get(o, "stderr"), "capture keys");
        if (r.fn_output.data)
                check_int(o, "output_bytes", r.fn_output.size);
        else
                fuzz_check(!json_object_get(o, "output_bytes"), "output_bytes without output");
        if (r.crash_report)
                check_string(o, "crash_report", crash, crash_len);
        else
                fuzz_check(!json_object_get(o, "crash_report"), "crash_report without a crash");

        json_decref(o);
        free(text);
        return 0;
}
