/* SPDX-License-Identifier: MIT */
/*
 * The result's contract: SPEC's exit code for every status, and the JSON object's keys,
 * types and nulls (parsed back with jansson, so escaping is checked too).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corral.h"

static void test_exit_codes(void **state) {
        (void) state;
        static const struct {
                corral_status status;
                int exit_code, signal, err, expected;
        } rows[] = {
                { CORRAL_STATUS_OK, 0, 0, 0, 0 },
                { CORRAL_STATUS_EXITED, 3, 0, 0, 3 },
                { CORRAL_STATUS_SIGNALED, 0, SIGSEGV, 0, 128 + SIGSEGV },
                { CORRAL_STATUS_WALL_TIMEOUT, 0, SIGTERM, 0, 124 },
                { CORRAL_STATUS_CPU_TIMEOUT, 0, SIGKILL, 0, 124 },
                { CORRAL_STATUS_MEMORY_LIMIT, 0, SIGKILL, 0, 137 },
                { CORRAL_STATUS_INTERRUPTED, 0, SIGTERM, 0, 130 },
                { CORRAL_STATUS_SPAWN_ERROR, 0, 0, ENOENT, 127 },
                { CORRAL_STATUS_SPAWN_ERROR, 0, 0, EACCES, 126 },
                { CORRAL_STATUS_INTERNAL_ERROR, 0, 0, EIO, 125 },
                { CORRAL_STATUS_SYSCALL_DENIED, 0, SIGKILL, 0, 128 + SIGSYS },
        };
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
                corral_result r = { .status = rows[i].status, .exit_code = rows[i].exit_code,
                                    .signal = rows[i].signal, .error_errno = rows[i].err };
                if (corral_result_exit_code(&r) != rows[i].expected)
                        fail_msg("row %zu (%s): exit code %d, expected %d", i,
                                 corral_status_to_string(rows[i].status), corral_result_exit_code(&r),
                                 rows[i].expected);
        }
}

static json_t *to_json(const corral_result *r) {
        char *text = NULL;
        assert_int_equal(corral_result_to_json(r, &text), 0);
        assert_non_null(text);
        assert_null(strchr(text, '\n')); /* one line */
        json_error_t err;
        json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &err);
        if (!o)
                fail_msg("not JSON: %s: %s", err.text, text);
        free(text);
        return o;
}

static void test_json_shape(void **state) {
        (void) state;
        corral_result r = {
                .status = CORRAL_STATUS_WALL_TIMEOUT,
                .signal = SIGTERM,
                .wall_time_s = 2.0005,
                .backend = CORRAL_BACKEND_CGROUP2,
                .precise = true,
                .enforcement = { .memory = CORRAL_ENFORCER_CGROUP, .wall_time = CORRAL_ENFORCER_MONITOR },
                .evidence = { .limit_hit = "RuntimeMaxSec", .deadline_s = 2.0, .n_signals_sent = 2,
                              .signals_sent = { { SIGTERM, 2.0004 }, { SIGKILL, 2.2007 } },
                              .memory_max_bytes = 268435456 },
        };
        strcpy(r.error, "a \"quoted\"\tline");
        json_t *o = to_json(&r);

        static const char *const keys[] = { "status", "exit_code", "signal", "wall_time_s", "cpu_time_s",
                                            "user_time_s", "system_time_s", "memory_peak_bytes", "oom_kills",
                                            "pids_peak", "pids_limit_hits", "backend", "precise", "error",
                                            "enforcement", "evidence" };
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
                if (!json_object_get(o, keys[i]))
                        fail_msg("key %s missing", keys[i]);
        assert_string_equal(json_string_value(json_object_get(o, "status")), "wall_timeout");
        assert_true(json_is_null(json_object_get(o, "exit_code")));
        assert_int_equal(json_integer_value(json_object_get(o, "signal")), SIGTERM);
        assert_string_equal(json_string_value(json_object_get(o, "backend")), "cgroup2");
        assert_true(json_is_true(json_object_get(o, "precise")));
        assert_string_equal(json_string_value(json_object_get(o, "error")), "a \"quoted\"\tline");

        json_t *enf = json_object_get(o, "enforcement");
        assert_int_equal(json_object_size(enf), 2); /* only the limits the policy set */
        assert_string_equal(json_string_value(json_object_get(enf, "memory")), "cgroup");
        assert_string_equal(json_string_value(json_object_get(enf, "wall_time")), "monitor");

        json_t *ev = json_object_get(o, "evidence");
        assert_string_equal(json_string_value(json_object_get(ev, "limit_hit")), "RuntimeMaxSec");
        json_t *sigs = json_object_get(ev, "signals_sent");
        assert_int_equal(json_array_size(sigs), 2);
        assert_string_equal(json_string_value(json_object_get(json_array_get(sigs, 1), "signal")), "SIGKILL");
        assert_true(json_real_value(json_object_get(json_array_get(sigs, 1), "at_s")) > 2.2);
        assert_int_equal(json_integer_value(json_object_get(ev, "memory_max_bytes")), 268435456);
        json_decref(o);
}

static void test_json_nulls_and_capture(void **state) {
        (void) state;
        unsigned char bad[] = { 'o', 'k', 0xff, '\n' };
        corral_result r = {
                .status = CORRAL_STATUS_OK,
                .has_exit_code = true,
                .backend = CORRAL_BACKEND_RLIMIT,
                .stdout_capture = { bad, sizeof bad, true },
        };
        json_t *o = to_json(&r);
        assert_int_equal(json_integer_value(json_object_get(o, "exit_code")), 0);
        assert_true(json_is_null(json_object_get(o, "signal")));
        assert_true(json_is_null(json_object_get(o, "error")));
        assert_true(json_is_null(json_object_get(json_object_get(o, "evidence"), "limit_hit")));
        assert_int_equal(json_object_size(json_object_get(o, "enforcement")), 0);
        /* invalid UTF-8 is replaced, not dropped, and the JSON stays valid */
        assert_string_equal(json_string_value(json_object_get(o, "stdout")), "ok\xef\xbf\xbd\n");
        assert_true(json_is_true(json_object_get(o, "stdout_truncated")));
        json_decref(o);
}

/* Found by tools/fuzz (fuzz-result): an error quoting a command name that is not UTF-8,
 * or cut by snprintf inside a multi-byte character, made jansson refuse the string and
 * corral_result_to_json() fail as -ENOMEM: `corral run --json -- $'\xff'` printed no
 * result at all. */
static void test_json_error_not_utf8(void **state) {
        (void) state;
        corral_result r = { .status = CORRAL_STATUS_SPAWN_ERROR, .backend = CORRAL_BACKEND_RLIMIT,
                            .error_errno = ENOENT, .crash_report = (char *) "in \xc3" };
        strcpy(r.error, "/no/such\xff: command not found");
        /* a two-byte character cut after its first byte */
        static char cut[] = "inferred \xc3";
        r.evidence.inferred = cut;
        json_t *o = to_json(&r);
        assert_string_equal(json_string_value(json_object_get(o, "error")), "/no/such\xef\xbf\xbd: command not found");
        assert_string_equal(json_string_value(json_object_get(json_object_get(o, "evidence"), "inferred")),
                            "inferred \xef\xbf\xbd");
        assert_string_equal(json_string_value(json_object_get(o, "crash_report")), "in \xef\xbf\xbd");
        json_decref(o);
}

/* Found by tools/fuzz (fuzz-result): counts were cast to jansson's int64, so
 * `corral run -m 15E` reported "memory_max_bytes": -1152921504606846976. Past 2^63-1
 * they are capped, never negative. */
static void test_json_large_counts(void **state) {
        (void) state;
        corral_result r = { .status = CORRAL_STATUS_OK, .has_exit_code = true, .backend = CORRAL_BACKEND_RLIMIT,
                            .memory_peak_bytes = UINT64_MAX, .pids_peak = (uint64_t) INT64_MAX,
                            .evidence = { .memory_max_bytes = 15ULL << 60 } };
        json_t *o = to_json(&r);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "evidence"), "memory_max_bytes")),
                         INT64_MAX);
        assert_int_equal(json_integer_value(json_object_get(o, "memory_peak_bytes")), INT64_MAX);
        assert_int_equal(json_integer_value(json_object_get(o, "pids_peak")), INT64_MAX);
        json_decref(o);
}

/* JSON has no NaN: a result with a time that is not a number is refused, cleanly. */
static void test_json_not_finite(void **state) {
        (void) state;
        char *text = NULL;
        corral_result r = { .status = CORRAL_STATUS_OK, .backend = CORRAL_BACKEND_RLIMIT, .wall_time_s = NAN };
        assert_int_equal(corral_result_to_json(&r, &text), -EINVAL);
        assert_null(text);
        r.wall_time_s = 1.0;
        r.evidence.n_signals_sent = 1;
        r.evidence.signals_sent[0] = (corral_signal_sent){ SIGTERM, INFINITY };
        assert_int_equal(corral_result_to_json(&r, &text), -EINVAL);
        r.evidence.signals_sent[0].at_s = 0.5;
        r.status = _CORRAL_STATUS_MAX;
        assert_int_equal(corral_result_to_json(&r, &text), -EINVAL);
        assert_null(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exit_codes),
                cmocka_unit_test(test_json_shape),
                cmocka_unit_test(test_json_nulls_and_capture),
                cmocka_unit_test(test_json_error_not_utf8),
                cmocka_unit_test(test_json_large_counts),
                cmocka_unit_test(test_json_not_finite),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
