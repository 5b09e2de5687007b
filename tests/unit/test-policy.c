/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/lib/policy.c: defaults, every property with good and bad values
 * (the field it must change, the exact diag it must give), that a failed set changes
 * nothing, the Key=Value form, a NULL diag, and the enum string tables.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "corral.h"
#include "macro.h"
#include "policy.h"

#define K (UINT64_C(1) << 10)
#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)
#define MSEC USEC_PER_MSEC
#define SEC USEC_PER_SEC

static void assert_policy_equal(const corral_policy *a, const corral_policy *b, const char *ctx) {
#define CHECK(f)                                                                            \
        do {                                                                                \
                if (a->f != b->f)                                                           \
                        fail_msg("%s: field " #f " is %ju, expected %ju", ctx,              \
                                 (uintmax_t) a->f, (uintmax_t) b->f);                       \
        } while (0)
        CHECK(memory_max);
        CHECK(tasks_max);
        CHECK(cpu_quota_ppm);
        CHECK(runtime_max_usec);
        CHECK(cpu_time_max_usec);
        CHECK(timeout_stop_usec);
        CHECK(backend);
        CHECK(memory_rlimit);
        CHECK(refuse_unenforced);
        CHECK(capture_output);
        CHECK(capture_max);
        CHECK(output_max);
        CHECK(start_method);
#undef CHECK
        if (strcmp(a->cgroup_base, b->cgroup_base) != 0)
                fail_msg("%s: field cgroup_base is '%s', expected '%s'", ctx, a->cgroup_base, b->cgroup_base);
}

/* Where a good value lands: a field of the policy and its width. */
typedef struct field {
        size_t offset, size;
} field;

#define FIELD(f) { offsetof(corral_policy, f), sizeof(((corral_policy *) NULL)->f) }

static void field_store(corral_policy *p, field f, uint64_t v) {
        char *at = (char *) p + f.offset;

        if (f.size == sizeof(uint64_t))
                memcpy(at, &v, sizeof(uint64_t));
        else if (f.size == sizeof(int)) /* the enums */
                memcpy(at, &(int){ (int) v }, sizeof(int));
        else if (f.size == sizeof(bool))
                memcpy(at, &(bool){ v != 0 }, sizeof(bool));
        else
                fail_msg("field of unexpected size %zu", f.size);
}

static void test_defaults(void **state) {
        corral_policy *p = NULL;

        assert_int_equal(corral_policy_new(&p), 0);
        assert_non_null(p);
        assert_true(p->memory_max == CORRAL_INFINITY);
        assert_true(p->tasks_max == CORRAL_INFINITY);
        assert_int_equal(p->cpu_quota_ppm, 0);
        assert_true(p->runtime_max_usec == CORRAL_INFINITY);
        assert_true(p->cpu_time_max_usec == CORRAL_INFINITY);
        assert_int_equal(p->timeout_stop_usec, POLICY_DEFAULT_GRACE_USEC);
        assert_int_equal(p->backend, CORRAL_BACKEND_AUTO);
        assert_int_equal(p->memory_rlimit, POLICY_MEMORY_RLIMIT_DATA);
        assert_false(p->refuse_unenforced);
        assert_false(p->capture_output);
        assert_int_equal(p->capture_max, POLICY_DEFAULT_CAPTURE_MAX);
        assert_int_equal(p->output_max, POLICY_DEFAULT_OUTPUT_MAX);
        assert_int_equal(p->start_method, CORRAL_START_FORK);

        assert_null(corral_policy_free(p));
        assert_null(corral_policy_free(NULL));
        assert_int_equal(corral_policy_new(NULL), -EINVAL);
}

static const struct {
        const char *key, *value;
        field field;
        uint64_t want;
} good[] = {
        { "MemoryMax", "256M", FIELD(memory_max), 256 * M },
        { "MemoryMax", "1.5G", FIELD(memory_max), G + G / 2 },
        { "MemoryMax", "1G 512M", FIELD(memory_max), G + 512 * M },
        { "MemoryMax", "1", FIELD(memory_max), 1 },
        { "MemoryMax", " 64K ", FIELD(memory_max), 64 * K },
        { "MemoryMax", "infinity", FIELD(memory_max), CORRAL_INFINITY },
        { "TasksMax", "64", FIELD(tasks_max), 64 },
        { "TasksMax", "1", FIELD(tasks_max), 1 },
        { "TasksMax", "infinity", FIELD(tasks_max), CORRAL_INFINITY },
        { "CPUQuota", "50%", FIELD(cpu_quota_ppm), 500000 },
        { "CPUQuota", "150%", FIELD(cpu_quota_ppm), 1500000 },
        { "CPUQuota", "12.5%", FIELD(cpu_quota_ppm), 125000 },
        { "CPUQuota", "", FIELD(cpu_quota_ppm), 0 },
        { "RuntimeMaxSec", "2s", FIELD(runtime_max_usec), 2 * SEC },
        { "RuntimeMaxSec", "2", FIELD(runtime_max_usec), 2 * SEC },
        { "RuntimeMaxSec", "1min 30s", FIELD(runtime_max_usec), 90 * SEC },
        { "RuntimeMaxSec", "1.5h", FIELD(runtime_max_usec), 5400 * SEC },
        { "RuntimeMaxSec", "infinity", FIELD(runtime_max_usec), CORRAL_INFINITY },
        { "CPUTimeMaxSec", "1s", FIELD(cpu_time_max_usec), SEC },
        { "CPUTimeMaxSec", "250ms", FIELD(cpu_time_max_usec), 250 * MSEC },
        { "CPUTimeMaxSec", "infinity", FIELD(cpu_time_max_usec), CORRAL_INFINITY },
        { "TimeoutStopSec", "0", FIELD(timeout_stop_usec), 0 },
        { "TimeoutStopSec", "200ms", FIELD(timeout_stop_usec), 200 * MSEC },
        { "TimeoutStopSec", "5s", FIELD(timeout_stop_usec), 5 * SEC },
        { "Backend", "auto", FIELD(backend), CORRAL_BACKEND_AUTO },
        { "Backend", "cgroup2", FIELD(backend), CORRAL_BACKEND_CGROUP2 },
        { "Backend", "cgroup2-core", FIELD(backend), CORRAL_BACKEND_CGROUP2_CORE },
        { "Backend", "rlimit", FIELD(backend), CORRAL_BACKEND_RLIMIT },
        { "Backend", " rlimit ", FIELD(backend), CORRAL_BACKEND_RLIMIT },
        { "MemoryRlimit", "data", FIELD(memory_rlimit), POLICY_MEMORY_RLIMIT_DATA },
        { "MemoryRlimit", "as", FIELD(memory_rlimit), POLICY_MEMORY_RLIMIT_AS },
        { "Unenforced", "allow", FIELD(refuse_unenforced), false },
        { "Unenforced", "refuse", FIELD(refuse_unenforced), true },
        { "CaptureOutput", "yes", FIELD(capture_output), true },
        { "CaptureOutput", "no", FIELD(capture_output), false },
        { "CaptureOutput", "true", FIELD(capture_output), true },
        { "CaptureOutput", "false", FIELD(capture_output), false },
        { "CaptureOutput", "1", FIELD(capture_output), true },
        { "CaptureOutput", "0", FIELD(capture_output), false },
        { "CaptureOutput", "on", FIELD(capture_output), true },
        { "CaptureOutput", "off", FIELD(capture_output), false },
        { "CaptureOutput", "YES", FIELD(capture_output), true },
        { "CaptureMax", "64K", FIELD(capture_max), 64 * K },
        { "CaptureMax", "0", FIELD(capture_max), 0 },
        { "OutputMax", "1M", FIELD(output_max), M },
        { "OutputMax", "0", FIELD(output_max), 0 },
        { "StartMethod", "fork", FIELD(start_method), CORRAL_START_FORK },
        { "StartMethod", "forkserver", FIELD(start_method), CORRAL_START_FORKSERVER },
};

static void test_good(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                corral_policy *p = NULL, *want = NULL;
                corral_diag diag = { "" };
                char ctx[128];
                int r;

                assert_int_equal(corral_policy_new(&p), 0);
                assert_int_equal(corral_policy_new(&want), 0);
                /* Start from non-default values, so that setting a default shows too. */
                if (strcmp(good[i].key, "CaptureOutput") == 0)
                        p->capture_output = !good[i].want;
                if (strcmp(good[i].key, "Unenforced") == 0)
                        p->refuse_unenforced = !good[i].want;
                if (strcmp(good[i].key, "CPUQuota") == 0)
                        p->cpu_quota_ppm = 42;
                if (strcmp(good[i].key, "Backend") == 0 && good[i].want == CORRAL_BACKEND_AUTO)
                        p->backend = CORRAL_BACKEND_RLIMIT;
                if (strcmp(good[i].key, "MemoryRlimit") == 0)
                        p->memory_rlimit = !good[i].want;
                if (strcmp(good[i].key, "StartMethod") == 0)
                        p->start_method = !good[i].want;

                snprintf(ctx, sizeof(ctx), "%s=%s", good[i].key, good[i].value);
                r = corral_policy_set(p, good[i].key, good[i].value, &diag);
                if (r != 0)
                        fail_msg("%s: returned %d: %s", ctx, r, diag.message);
                field_store(want, good[i].field, good[i].want);
                assert_policy_equal(p, want, ctx);

                corral_policy_free(p);
                corral_policy_free(want);
        }
}

#define BOOLEANS "yes, no, true, false, on, off, 1 or 0"

static const struct {
        const char *key, *value, *message;
} bad[] = {
        { "CGroupBase", "corral", "CGroupBase value 'corral': expected an absolute cgroup path (/sys/fs/cgroup/NAME or /NAME)" },
        { "CGroupBase", "/a/../b", "CGroupBase value '/a/../b': '.' and '..' are not allowed in the path" },
        { "CGroupBase", "/a/./b", "CGroupBase value '/a/./b': '.' and '..' are not allowed in the path" },
        { "CGroupBase", "/..", "CGroupBase value '/..': '.' and '..' are not allowed in the path" },
        { "CGroupBase", "/a\nb", "CGroupBase value '/a?b': control character in the path" },
        { "MemoryMax", "12Q", "MemoryMax value '12Q': unknown unit 'Q'" },
        { "MemoryMax", "0", "MemoryMax value '0': value must be greater than 0" },
        { "MemoryMax", "0K", "MemoryMax value '0K': value must be greater than 0" },
        { "MemoryMax", "", "MemoryMax value '': empty value" },
        { "MemoryMax", "-1", "MemoryMax value '-1': negative values are not allowed" },
        { "MemoryMax", "99999999999E", "MemoryMax value '99999999999E': value too large" },
        { "MemoryMax", "0%", "MemoryMax value '0%': value must be greater than 0" },
        { "MemoryMax", "101%", "MemoryMax value '101%': percentage must be at most 100%" },
        { "MemoryMax", "512M 1G",
          "MemoryMax value '512M 1G': unit 'G' after 'M': units must descend" },
        { "MemoryMax", "1G\nx", "MemoryMax value '1G?x': trailing garbage 'x'" },
        { "TasksMax", "0", "TasksMax value '0': value must be greater than 0" },
        { "TasksMax", "-1", "TasksMax value '-1': negative values are not allowed" },
        { "TasksMax", "1.5", "TasksMax value '1.5': trailing garbage '.5'" },
        { "TasksMax", "lots", "TasksMax value 'lots': invalid number 'lots'" },
        { "TasksMax", "", "TasksMax value '': empty value" },
        { "CPUQuota", "50", "CPUQuota value '50': missing '%' after '50'" },
        { "CPUQuota", "0%", "CPUQuota value '0%': value must be greater than 0" },
        { "CPUQuota", "-50%", "CPUQuota value '-50%': negative values are not allowed" },
        { "CPUQuota", "infinity", "CPUQuota value 'infinity': invalid number 'infinity'" },
        { "RuntimeMaxSec", "0", "RuntimeMaxSec value '0': value must be greater than 0" },
        { "RuntimeMaxSec", "0s", "RuntimeMaxSec value '0s': value must be greater than 0" },
        { "RuntimeMaxSec", "5 s x", "RuntimeMaxSec value '5 s x': trailing garbage 'x'" },
        { "RuntimeMaxSec", "ms", "RuntimeMaxSec value 'ms': missing number before 'ms'" },
        { "RuntimeMaxSec", "2Q", "RuntimeMaxSec value '2Q': unknown unit 'Q'" },
        { "RuntimeMaxSec", "", "RuntimeMaxSec value '': empty value" },
        { "RuntimeMaxSec", "99999999999999w",
          "RuntimeMaxSec value '99999999999999w': value too large" },
        { "CPUTimeMaxSec", "0", "CPUTimeMaxSec value '0': value must be greater than 0" },
        { "CPUTimeMaxSec", "-1s", "CPUTimeMaxSec value '-1s': negative values are not allowed" },
        { "CPUTimeMaxSec", "1e3", "CPUTimeMaxSec value '1e3': unknown unit 'e'" },
        { "TimeoutStopSec", "infinity", "TimeoutStopSec value 'infinity': value must be finite" },
        { "TimeoutStopSec", "soon", "TimeoutStopSec value 'soon': invalid number 'soon'" },
        { "TimeoutStopSec", "", "TimeoutStopSec value '': empty value" },
        { "Backend", "gpu", "Backend value 'gpu': expected auto, cgroup2, cgroup2-core or rlimit" },
        { "Backend", "CGROUP2",
          "Backend value 'CGROUP2': expected auto, cgroup2, cgroup2-core or rlimit" },
        { "Backend", "", "Backend value '': expected auto, cgroup2, cgroup2-core or rlimit" },
        { "MemoryRlimit", "rss", "MemoryRlimit value 'rss': expected data or as" },
        { "Unenforced", "yes", "Unenforced value 'yes': expected allow or refuse" },
        { "CaptureOutput", "maybe",
          "CaptureOutput value 'maybe': expected a boolean: " BOOLEANS },
        { "CaptureOutput", "", "CaptureOutput value '': expected a boolean: " BOOLEANS },
        { "CaptureMax", "infinity", "CaptureMax value 'infinity': value must be finite" },
        { "CaptureMax", "1X", "CaptureMax value '1X': unknown unit 'X'" },
        { "OutputMax", "infinity", "OutputMax value 'infinity': value must be finite" },
        { "OutputMax", "-1", "OutputMax value '-1': negative values are not allowed" },
        { "StartMethod", "spawn", "StartMethod value 'spawn': expected fork or forkserver" },
        { "Foo", "1", "unknown property 'Foo'" },
        { "memorymax", "1G", "unknown property 'memorymax'" },
        { "MemoryMax ", "1G", "unknown property 'MemoryMax '" },
        { "", "1G", "unknown property ''" },
        { "LimitCPU", "1s", "unknown property 'LimitCPU'" },
};

/* A policy with every field away from its default, to see that nothing moves. */
static corral_policy *new_busy_policy(void) {
        static const char *const assignments[] = {
                "MemoryMax=100M",      "TasksMax=7",         "CPUQuota=30%",
                "RuntimeMaxSec=9s",    "CPUTimeMaxSec=8s",   "TimeoutStopSec=1s",
                "Backend=rlimit",      "MemoryRlimit=as",    "Unenforced=refuse",
                "CaptureOutput=yes",   "CaptureMax=3K",      "OutputMax=5K",
                "StartMethod=forkserver",
        };
        corral_policy *p = NULL;

        assert_int_equal(corral_policy_new(&p), 0);
        for (size_t i = 0; i < ELEMENTSOF(assignments); i++)
                assert_int_equal(corral_policy_set_assignment(p, assignments[i], NULL), 0);
        return p;
}

static void test_bad(void **state) {
        corral_policy *snapshot = new_busy_policy();

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                corral_policy *p = new_busy_policy();
                corral_diag diag = { "" };
                int r;

                r = corral_policy_set(p, bad[i].key, bad[i].value, &diag);
                if (r != -EINVAL)
                        fail_msg("%s=%s: returned %d, expected -EINVAL", bad[i].key, bad[i].value,
                                 r);
                if (strcmp(diag.message, bad[i].message) != 0)
                        fail_msg("%s=%s: diag \"%s\", expected \"%s\"", bad[i].key, bad[i].value,
                                 diag.message, bad[i].message);
                assert_policy_equal(p, snapshot, bad[i].message);

                /* The same without a diag. */
                assert_int_equal(corral_policy_set(p, bad[i].key, bad[i].value, NULL), -EINVAL);
                assert_policy_equal(p, snapshot, bad[i].message);

                corral_policy_free(p);
        }

        corral_policy_free(snapshot);
}

static void test_null_arguments(void **state) {
        corral_policy *p = new_busy_policy();
        corral_diag diag = { "" };

        assert_int_equal(corral_policy_set(NULL, "MemoryMax", "1G", &diag), -EINVAL);
        assert_true(diag.message[0] != '\0');
        assert_int_equal(corral_policy_set(p, NULL, "1G", NULL), -EINVAL);
        assert_int_equal(corral_policy_set(p, "MemoryMax", NULL, NULL), -EINVAL);
        assert_int_equal(corral_policy_set_assignment(p, NULL, NULL), -EINVAL);
        assert_int_equal(corral_policy_set_assignment(NULL, "MemoryMax=1G", NULL), -EINVAL);

        /* Good values need no diag either. */
        assert_int_equal(corral_policy_set(p, "MemoryMax", "1G", NULL), 0);
        assert_int_equal(p->memory_max, G);
        corral_policy_free(p);
}

static void test_cpu_quota_reset(void **state) {
        corral_policy *p = NULL;

        assert_int_equal(corral_policy_new(&p), 0);
        assert_int_equal(corral_policy_set(p, "CPUQuota", "250%", NULL), 0);
        assert_int_equal(p->cpu_quota_ppm, 2500000);
        assert_int_equal(corral_policy_set(p, "CPUQuota", "", NULL), 0);
        assert_int_equal(p->cpu_quota_ppm, 0);
        assert_int_equal(corral_policy_set(p, "CPUQuota", "40%", NULL), 0);
        assert_int_equal(corral_policy_set_assignment(p, "CPUQuota=", NULL), 0);
        assert_int_equal(p->cpu_quota_ppm, 0);
        corral_policy_free(p);
}

static void test_memory_percent(void **state) {
        uint64_t total = policy_physical_memory();
        corral_policy *p = NULL;
        corral_diag diag = { "" };

        assert_true(total > 0);
        assert_int_equal(total % (uint64_t) sysconf(_SC_PAGESIZE), 0);

        assert_int_equal(corral_policy_new(&p), 0);
        assert_int_equal(corral_policy_set(p, "MemoryMax", "100%", &diag), 0);
        assert_int_equal(p->memory_max, total);
        assert_int_equal(corral_policy_set(p, "MemoryMax", "50%", &diag), 0);
        assert_int_equal(p->memory_max, total / 2);
        assert_int_equal(corral_policy_set(p, "MemoryMax", "25%", &diag), 0);
        assert_int_equal(p->memory_max, total / 4);
        corral_policy_free(p);
}

static void test_assignment(void **state) {
        static const struct {
                const char *assignment;
                int r;
                const char *message; /* on failure */
        } cases[] = {
                { "MemoryMax=1G", 0, NULL },
                { " MemoryMax = 1G ", 0, NULL },
                { "MemoryMax\t=1G", 0, NULL },
                { "MemoryMax", -EINVAL, "malformed assignment 'MemoryMax': expected Key=Value" },
                { "", -EINVAL, "malformed assignment '': expected Key=Value" },
                { "=1G", -EINVAL, "malformed assignment '=1G': expected Key=Value" },
                { "  =1G", -EINVAL, "malformed assignment '  =1G': expected Key=Value" },
                { "MemoryMax=", -EINVAL, "MemoryMax value '': empty value" },
                { "MemoryMax=1G=2", -EINVAL, "MemoryMax value '1G=2': trailing garbage '=2'" },
                { "MemoryMax=12Q", -EINVAL, "MemoryMax value '12Q': unknown unit 'Q'" },
                { "Foo=1", -EINVAL, "unknown property 'Foo'" },
                { "Memory Max=1G", -EINVAL, "unknown property 'Memory Max'" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                corral_policy *p = NULL;
                corral_diag diag = { "" };
                int r;

                assert_int_equal(corral_policy_new(&p), 0);
                r = corral_policy_set_assignment(p, cases[i].assignment, &diag);
                if (r != cases[i].r)
                        fail_msg("\"%s\": returned %d (%s), expected %d", cases[i].assignment, r,
                                 diag.message, cases[i].r);
                if (r == 0 && p->memory_max != G)
                        fail_msg("\"%s\": memory_max is %ju", cases[i].assignment,
                                 (uintmax_t) p->memory_max);
                if (r < 0 && strcmp(diag.message, cases[i].message) != 0)
                        fail_msg("\"%s\": diag \"%s\", expected \"%s\"", cases[i].assignment,
                                 diag.message, cases[i].message);
                if (r < 0 && p->memory_max != CORRAL_INFINITY)
                        fail_msg("\"%s\": failed but changed MemoryMax", cases[i].assignment);
                assert_int_equal(corral_policy_set_assignment(p, cases[i].assignment, NULL),
                                 cases[i].r);
                corral_policy_free(p);
        }
}

/* Long or hostile input still gives one bounded line. */
static void test_diag_bounded(void **state) {
        char value[1000], key[600];
        corral_policy *p = new_busy_policy();
        corral_diag diag;

        memset(value, 'Q', sizeof(value) - 1);
        value[0] = '1';
        value[sizeof(value) - 1] = '\0';
        memset(key, 'k', sizeof(key) - 1);
        key[sizeof(key) - 1] = '\0';

        memset(diag.message, 'X', sizeof(diag.message));
        assert_int_equal(corral_policy_set(p, "MemoryMax", value, &diag), -EINVAL);
        assert_non_null(memchr(diag.message, '\0', sizeof(diag.message)));
        assert_non_null(strstr(diag.message, "MemoryMax value '1QQ"));
        assert_non_null(strstr(diag.message, "...': unknown unit 'QQ"));

        memset(diag.message, 'X', sizeof(diag.message));
        assert_int_equal(corral_policy_set(p, key, "1", &diag), -EINVAL);
        assert_non_null(memchr(diag.message, '\0', sizeof(diag.message)));
        assert_non_null(strstr(diag.message, "unknown property 'kkk"));
        assert_non_null(strstr(diag.message, "...'"));

        assert_int_equal(corral_policy_set(p, "Backend", "a\r\nb\tc", &diag), -EINVAL);
        assert_string_equal(diag.message, "Backend value 'a??b?c': "
                                          "expected auto, cgroup2, cgroup2-core or rlimit");
        corral_policy_free(p);
}

/* CGroupBase=: kept as given (an absolute cgroup path); "" unsets it. */
static void test_cgroup_base(void **state) {
        corral_policy *p;
        assert_int_equal(corral_policy_new(&p), 0);
        assert_string_equal(p->cgroup_base, "");
        assert_int_equal(corral_policy_set(p, "CGroupBase", "/sys/fs/cgroup/corral", NULL), 0);
        assert_string_equal(p->cgroup_base, "/sys/fs/cgroup/corral");
        assert_int_equal(corral_policy_set(p, "CGroupBase", "/a/..b/.c/", NULL), 0);
        assert_string_equal(p->cgroup_base, "/a/..b/.c/");
        assert_int_equal(corral_policy_set(p, "CGroupBase", "", NULL), 0);
        assert_string_equal(p->cgroup_base, "");
        char longer[600];
        memset(longer, 'x', sizeof longer - 1);
        longer[0] = '/';
        longer[sizeof longer - 1] = '\0';
        assert_int_equal(corral_policy_set(p, "CGroupBase", longer, NULL), -EINVAL);
        assert_string_equal(p->cgroup_base, "");
        corral_policy_free(p);
}

static void test_strings(void **state) {
        static const char *const statuses[] = {
                "ok",          "exited",       "signaled",    "wall_timeout",   "cpu_timeout",
                "memory_limit", "interrupted", "spawn_error", "internal_error", "syscall_denied",
        };
        static const char *const enforcers[] = {
                NULL,          "cgroup",     "monitor", "rlimit-as", "rlimit-data",
                "rlimit-cpu", "rlimit-nproc", "none",
        };
        static const char *const backends[] = { "auto", "cgroup2", "cgroup2-core", "rlimit" };
        corral_backend b;

        assert_int_equal(ELEMENTSOF(statuses), _CORRAL_STATUS_MAX);
        for (size_t i = 0; i < ELEMENTSOF(statuses); i++)
                assert_string_equal(corral_status_to_string((corral_status) i), statuses[i]);
        assert_null(corral_status_to_string(_CORRAL_STATUS_MAX));
        assert_null(corral_status_to_string((corral_status) -1));

        assert_int_equal(ELEMENTSOF(enforcers), _CORRAL_ENFORCER_MAX);
        assert_null(corral_enforcer_to_string(CORRAL_ENFORCER_UNSET));
        for (size_t i = 1; i < ELEMENTSOF(enforcers); i++)
                assert_string_equal(corral_enforcer_to_string((corral_enforcer) i), enforcers[i]);
        assert_null(corral_enforcer_to_string(_CORRAL_ENFORCER_MAX));
        assert_null(corral_enforcer_to_string((corral_enforcer) -1));

        assert_int_equal(ELEMENTSOF(backends), _CORRAL_BACKEND_MAX);
        for (size_t i = 0; i < ELEMENTSOF(backends); i++) {
                assert_string_equal(corral_backend_to_string((corral_backend) i), backends[i]);
                b = _CORRAL_BACKEND_MAX;
                assert_int_equal(corral_backend_from_string(backends[i], &b), 0);
                assert_int_equal(b, i);
        }
        assert_null(corral_backend_to_string(_CORRAL_BACKEND_MAX));
        assert_null(corral_backend_to_string((corral_backend) -1));

        b = CORRAL_BACKEND_RLIMIT;
        assert_int_equal(corral_backend_from_string("gpu", &b), -EINVAL);
        assert_int_equal(corral_backend_from_string("", &b), -EINVAL);
        assert_int_equal(corral_backend_from_string("Auto", &b), -EINVAL);
        assert_int_equal(corral_backend_from_string("cgroup", &b), -EINVAL);
        assert_int_equal(corral_backend_from_string(NULL, &b), -EINVAL);
        assert_int_equal(b, CORRAL_BACKEND_RLIMIT);
        assert_int_equal(corral_backend_from_string("auto", NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_good),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_null_arguments),
                cmocka_unit_test(test_cpu_quota_reset),
                cmocka_unit_test(test_memory_percent),
                cmocka_unit_test(test_assignment),
                cmocka_unit_test(test_diag_bounded),
                cmocka_unit_test(test_strings),
                cmocka_unit_test(test_cgroup_base),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
