/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/daemon/config.c (corrald.conf): a table of files that must be
 * refused with the line and the words that name the bad input, and the quota a caller
 * gets from [Quota], [User] and [Group] sections.
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

#include "config.h"
#include "corral.h"

#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)

static char path[64];

static void write_conf(const char *text) {
        snprintf(path, sizeof path, "/tmp/test-config.XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

static int load(const char *text, config *c, char *why, size_t size) {
        write_conf(text);
        int r = config_load(path, true, c, why, size);
        unlink(path);
        return r;
}

static void test_bad_files(void **state) {
        static const struct {
                const char *text, *words;
        } cases[] = {
                { "Jobs=3\n", ":1: 'Jobs' outside a section" },
                { "[Quota]\nJobs=3\n[Nope]\n", ":3: unknown section [Nope]" },
                { "[Quota\n", ":1: section header without ']'" },
                { "[Quota]\nJobs\n", ":2: expected Key=Value" },
                { "[Quota]\nColour=red\n", "Colour=red: unknown key" },
                { "[Quota]\nMemoryMax=12Q\n", "MemoryMax=12Q: unknown unit 'Q'" },
                { "[Quota]\nRuntimeMaxSec=-1s\n", "RuntimeMaxSec=-1s" },
                { "[Quota]\nJobs=0\n", "Jobs=0" },
                { "[Daemon]\nConnections=infinity\n", "Connections=infinity: must be a number" },
                { "[Daemon]\nThreads=4\n", "unknown key 'Threads' in [Daemon]" },
                { "[User no-such-user-here]\n", "no such user 'no-such-user-here'" },
                { "[Group no-such-group-here]\n", "no such group 'no-such-group-here'" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                config c;
                char why[512] = "";
                int r = load(cases[i].text, &c, why, sizeof why);
                if (r != -EINVAL || !strstr(why, cases[i].words))
                        fail_msg("'%s': r=%d why='%s', expected '%s'", cases[i].text, r, why, cases[i].words);
        }
}

static void test_missing_file(void **state) {
        config c;
        char why[512] = "";
        assert_int_equal(config_load("/nonexistent/corrald.conf", false, &c, why, sizeof why), 0);
        assert_int_equal(c.max_connections, 1024);
        assert_int_equal(c.defaults.memory_max, CORRAL_INFINITY);
        assert_int_equal(config_load("/nonexistent/corrald.conf", true, &c, why, sizeof why), -ENOENT);
        assert_non_null(strstr(why, "/nonexistent/corrald.conf"));
}

static void test_quota_rules(void **state) {
        config c;
        char why[512] = "";
        assert_int_equal(load("# caps\n"
                              "[Daemon]\nConnections=300\nJobs=600\n"
                              "[Quota]\nJobs=4\nMemoryMax=1G\nRuntimeMaxSec=1h\n"
                              "[User 1000]\nMemoryMax=8G ; a comment is not allowed after a value\n",
                              &c, why, sizeof why),
                         -EINVAL);
        assert_int_equal(load("# caps\n"
                              "[Daemon]\nConnections=300\nJobs=600\n"
                              "[Quota]\nJobs=4\nMemoryMax=1G\nRuntimeMaxSec=1h\n"
                              "[User 1000]\nMemoryMax=8G\n"
                              "[User 1002]\nMemoryMax=infinity\n"
                              "[Group 500]\nJobs=10\nTasksMax=100\n"
                              "[Group 501]\nJobs=20\nMemoryMaxTotal=2G\n",
                              &c, why, sizeof why),
                         0);
        assert_int_equal(c.max_connections, 300);
        assert_int_equal(c.max_jobs, 600);
        quota q;

        /* nobody special: the defaults */
        config_quota_for(&c, 2000, 2000, NULL, 0, &q);
        assert_int_equal(q.jobs, 4);
        assert_int_equal(q.memory_max, 1 * G);
        assert_int_equal(q.runtime_max_usec, 3600 * UINT64_C(1000000));
        assert_int_equal(q.tasks_max, CORRAL_INFINITY);

        /* a [User] section replaces what it sets, the rest comes from [Quota] */
        config_quota_for(&c, 1000, 1000, NULL, 0, &q);
        assert_int_equal(q.memory_max, 8 * G);
        assert_int_equal(q.jobs, 4);

        /* "infinity" in a section is a value, not "unset" */
        config_quota_for(&c, 1002, 1002, NULL, 0, &q);
        assert_int_equal(q.memory_max, CORRAL_INFINITY);

        /* several groups (primary or supplementary): the most generous value of each key */
        gid_t groups[] = { 501 };
        config_quota_for(&c, 2000, 500, groups, 1, &q);
        assert_int_equal(q.jobs, 20);
        assert_int_equal(q.tasks_max, 100);
        assert_int_equal(q.memory_total, 2 * G);
        assert_int_equal(q.memory_max, 1 * G);

        /* a [User] section wins over the user's groups */
        config_quota_for(&c, 1000, 500, groups, 1, &q);
        assert_int_equal(q.jobs, 4);
        assert_int_equal(q.memory_max, 8 * G);

        /* root: no caps unless a section names it */
        config_quota_for(&c, 0, 0, NULL, 0, &q);
        assert_int_equal(q.jobs, CORRAL_INFINITY);
        assert_int_equal(q.memory_max, CORRAL_INFINITY);
        config_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bad_files),
                cmocka_unit_test(test_missing_file),
                cmocka_unit_test(test_quota_rules),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
