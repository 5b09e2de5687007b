/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/lib/policy-file.c: a file of good lines (comments, blanks, blanks
 * around '=', later lines overriding earlier ones) and a table of bad lines, each put at
 * line 4 of an otherwise good file and rejected with exactly "FILE:4: Key: reason",
 * leaving the policy as it was; lookup by name through CORRAL_POLICY_PATH, names that
 * are not words, missing and oversized files; and every shipped policy loads.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "corral.h"
#include "macro.h"
#include "policy.h"

static char dir[] = "/tmp/corral-test-policy-XXXXXX";

static void write_file(const char *path, const char *text, size_t len) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
}

static int setup(void **state) {
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static void test_good_file(void **state) {
        static const char text[] = "# a comment\n"
                                   "; another\n"
                                   "\n"
                                   "   MemoryMax = 256M   \n"
                                   "TasksMax=64\r\n"
                                   "RuntimeMaxSec=1min 30s\n"
                                   "MemoryMax=512M\n" /* later wins */
                                   "\tCaptureOutput=yes"; /* no final newline */
        char path[256];
        corral_policy *p;
        corral_diag diag = {};

        snprintf(path, sizeof path, "%s/good", dir);
        write_file(path, text, sizeof text - 1);
        assert_int_equal(corral_policy_new(&p), 0);
        if (corral_policy_load(p, path, &diag) < 0)
                fail_msg("%s", diag.message);
        assert_int_equal(p->memory_max, 512ULL << 20);
        assert_int_equal(p->tasks_max, 64);
        assert_int_equal(p->runtime_max_usec, 90 * USEC_PER_SEC);
        assert_true(p->capture_output);

        /* settings after the load override it, as options after --policy do */
        assert_int_equal(corral_policy_set(p, "TasksMax", "8", &diag), 0);
        assert_int_equal(p->tasks_max, 8);
        /* the assignment log (what a client replays to corrald) has the file's lines, in order */
        size_t n;
        char *const *log = policy_assignments(p, &n);
        assert_int_equal(n, 6);
        assert_string_equal(log[0], "MemoryMax=256M");
        assert_string_equal(log[3], "MemoryMax=512M");
        assert_string_equal(log[5], "TasksMax=8");
        corral_policy_free(p);

        /* an empty file is a valid policy that changes nothing */
        snprintf(path, sizeof path, "%s/empty", dir);
        write_file(path, "", 0);
        assert_int_equal(corral_policy_new(&p), 0);
        assert_int_equal(corral_policy_load(p, path, &diag), 0);
        assert_int_equal(p->memory_max, CORRAL_INFINITY);
        corral_policy_free(p);
}

static void test_bad_lines(void **state) {
        static const struct {
                const char *line, *message; /* message after "FILE:4: " */
        } bad[] = {
                { "MemoryMax=12Q", "MemoryMax: value '12Q': unknown unit 'Q'" },
                { "MemoryMax=", "MemoryMax: value '': empty value" },
                { "MemoryMax=-1G", "MemoryMax: value '-1G': negative values are not allowed" },
                { "TasksMax=lots", "TasksMax: value 'lots': invalid number 'lots'" },
                { "RuntimeMaxSec=0", "RuntimeMaxSec: value '0': value must be greater than 0" },
                { "TimeoutStopSec=infinity", "TimeoutStopSec: value 'infinity': value must be finite" },
                { "Backend=docker", "Backend: value 'docker': expected auto, cgroup2, cgroup2-core or rlimit" },
                { "CaptureOutput=maybe",
                  "CaptureOutput: value 'maybe': expected a boolean: yes, no, true, false, on, off, 1 or 0" },
                { "MemoryLimit=1G", "MemoryLimit: unknown key" },
                { "memorymax=1G", "memorymax: unknown key" },
                { "just words", "just words: expected Key=Value" },
                { "=1G", "a value without a key" },
                { "[Service]", "[Service]: sections are not used in policy files" },
                { "SystemCallFilter=~@nosuch", "SystemCallFilter: value '~@nosuch': unknown group '@nosuch'" },
                { "SystemCallFilter=ptrace:EPERM",
                  "SystemCallFilter: value 'ptrace:EPERM': 'ptrace:EPERM': an errno belongs to an entry of a "
                  "deny-list (~...)" },
                { "SystemCallArchitectures=x86", "SystemCallArchitectures: value 'x86': only 'native' (x86_64) is supported" },
                { "ProtectSystem=sometimes", "ProtectSystem: value 'sometimes': expected no, yes, full or strict" },
                { "ReadOnlyPaths=etc", "ReadOnlyPaths: value 'etc': 'etc' is not an absolute path" },
                { "InaccessiblePaths=/a/../b", "InaccessiblePaths: value '/a/../b': '/a/../b': '.' and '..' are not allowed" },
                { "PrivateNetwork=perhaps",
                  "PrivateNetwork: value 'perhaps': expected a boolean: yes, no, true, false, on, off, 1 or 0" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char path[256], text[512], expected[512];
                corral_policy *p, before;
                corral_diag diag = {};
                int r;

                snprintf(path, sizeof path, "%s/bad-%zu", dir, i);
                snprintf(text, sizeof text, "# bad line %zu\nMemoryMax=1G\n\n%s\nTasksMax=5\n", i, bad[i].line);
                write_file(path, text, strlen(text));
                snprintf(expected, sizeof expected, "%s:4: %s", path, bad[i].message);

                assert_int_equal(corral_policy_new(&p), 0);
                assert_int_equal(corral_policy_set(p, "TasksMax", "7", &diag), 0);
                before = *p;
                r = corral_policy_load(p, path, &diag);
                if (r != -EINVAL)
                        fail_msg("'%s' gave %d, expected -EINVAL", bad[i].line, r);
                if (strcmp(diag.message, expected) != 0)
                        fail_msg("'%s':\n got      '%s'\n expected '%s'", bad[i].line, diag.message, expected);
                /* nothing of the file was applied, not even the good line before the bad one */
                assert_memory_equal(p, &before, sizeof before);
                corral_policy_free(p);
        }
}

static void test_nul_and_size(void **state) {
        char path[256], expected[320];
        corral_policy *p;
        corral_diag diag = {};

        assert_int_equal(corral_policy_new(&p), 0);
        snprintf(path, sizeof path, "%s/nul", dir);
        write_file(path, "TasksMax=5\nMemory\0Max=1G\n", 25);
        assert_int_equal(corral_policy_load(p, path, &diag), -EINVAL);
        snprintf(expected, sizeof expected, "%s:2: a NUL byte in the line", path);
        assert_string_equal(diag.message, expected);

        snprintf(path, sizeof path, "%s/big", dir);
        char *big = malloc(300 * 1024);
        assert_non_null(big);
        memset(big, '#', 300 * 1024);
        write_file(path, big, 300 * 1024);
        free(big);
        assert_int_equal(corral_policy_load(p, path, &diag), -EFBIG);
        assert_non_null(strstr(diag.message, "too large for a policy file"));

        snprintf(path, sizeof path, "%s/missing", dir);
        assert_int_equal(corral_policy_load(p, path, &diag), -ENOENT);
        snprintf(expected, sizeof expected, "%s: No such file or directory", path);
        assert_string_equal(diag.message, expected);

        assert_int_equal(corral_policy_load(p, dir, &diag), -EINVAL);
        assert_non_null(strstr(diag.message, "not a regular file"));
        corral_policy_free(p);
}

static void test_names(void **state) {
        char path[256];
        corral_policy *p;
        corral_diag diag = {};

        snprintf(path, sizeof path, "%s/mine", dir);
        write_file(path, "TasksMax=3\n", 11);
        setenv("CORRAL_POLICY_PATH", dir, 1);
        assert_int_equal(corral_policy_new(&p), 0);
        assert_int_equal(corral_policy_load(p, "mine", &diag), 0);
        assert_int_equal(p->tasks_max, 3);
        assert_int_equal(corral_policy_load_name(p, "mine", &diag), 0);

        assert_int_equal(corral_policy_load(p, "nosuch", &diag), -ENOENT);
        assert_non_null(strstr(diag.message, "policy 'nosuch' not found (looked in /tmp/corral-test-policy-"));
        /* a name is never a path: services pass names from clients */
        assert_int_equal(corral_policy_load_name(p, path, &diag), -EINVAL);
        assert_non_null(strstr(diag.message, "expected letters, digits"));
        assert_int_equal(corral_policy_load_name(p, "..", &diag), -EINVAL);
        assert_int_equal(corral_policy_load_name(p, ".hidden", &diag), -EINVAL);
        assert_int_equal(corral_policy_load_name(p, "", &diag), -EINVAL);
        assert_int_equal(corral_policy_load(NULL, "x", &diag), -EINVAL);
        unsetenv("CORRAL_POLICY_PATH");
        corral_policy_free(p);
}

static void test_shipped(void **state) {
        static const char *const shipped[] = { "default", "untrusted", "function", "compiler" };
        const char *dir_env = getenv("CR_POLICIES");

        if (!dir_env)
                skip();
        setenv("CORRAL_POLICY_PATH", dir_env, 1);
        for (size_t i = 0; i < ELEMENTSOF(shipped); i++) {
                corral_policy *p;
                corral_diag diag = {};
                assert_int_equal(corral_policy_new(&p), 0);
                if (corral_policy_load_name(p, shipped[i], &diag) < 0)
                        fail_msg("%s: %s", shipped[i], diag.message);
                /* every shipped policy bounds memory, tasks and time */
                assert_true(p->memory_max != CORRAL_INFINITY);
                assert_true(p->tasks_max != CORRAL_INFINITY);
                assert_true(p->runtime_max_usec != CORRAL_INFINITY);
                corral_policy_free(p);
        }
        unsetenv("CORRAL_POLICY_PATH");
}

/* Found by fuzz-policy-load under ASan: a file that failed after a good line left the
 * policy with an assignment log freed by the scratch copy's realloc (a use after free at
 * corral_policy_free). The log must survive a failed file, and grow by a good one. */
static void test_failed_file_keeps_log(void **state) {
        (void) state;
        static const char bad[] = "MemoryMax=1G\nTasksMax=8\n[Service]\n";
        static const char good[] = "MemoryMax=1G\nTasksMax=8\n";
        corral_policy *p = NULL;
        corral_diag diag = {};
        size_t n;

        assert_int_equal(corral_policy_new(&p), 0);
        assert_int_equal(corral_policy_set(p, "MemoryMax", "64M", &diag), 0);
        for (int i = 0; i < 3; i++)
                assert_int_equal(policy_file_apply(p, "bad", bad, sizeof bad - 1, &diag), -EINVAL);
        char *const *log = policy_assignments(p, &n);
        assert_int_equal(n, 1);
        assert_string_equal(log[0], "MemoryMax=64M");
        assert_int_equal(p->memory_max, 64ULL << 20);

        assert_int_equal(policy_file_apply(p, "good", good, sizeof good - 1, &diag), 0);
        log = policy_assignments(p, &n);
        assert_int_equal(n, 3);
        assert_string_equal(log[0], "MemoryMax=64M");
        assert_string_equal(log[1], "MemoryMax=1G");
        assert_string_equal(log[2], "TasksMax=8");
        assert_int_equal(p->memory_max, 1ULL << 30);
        corral_policy_free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_file),
                cmocka_unit_test(test_bad_lines),
                cmocka_unit_test(test_nul_and_size),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_shipped),
                cmocka_unit_test(test_failed_file_keeps_log),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
