/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/basic/fileio.c on a temporary directory holding files shaped like
 * cgroupfs ones (memory.events, cpu.stat, pids.max). Needs no privilege.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "macro.h"

typedef struct fixture {
        char path[64];
        int dirfd;
} fixture;

static const char memory_events[] = "low 0\n"
                                    "high 0\n"
                                    "max 17\n"
                                    "oom_kill 2\n"
                                    "oom 3\n"
                                    "oom_group_kill 1\n";

static const char cpu_stat[] = "usage_usec 1234567\n"
                               "user_usec 1000000\n"
                               "system_usec 234567\n"
                               "nr_periods 10\n"
                               "nr_throttled 4\n"
                               "throttled_usec 81234\n";

static void put(int dirfd, const char *name, const char *text) {
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        size_t len = strlen(text);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, len), (ssize_t) len);
        close(fd);
}

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        strcpy(f->path, "/tmp/corral-test-fileio-XXXXXX");
        if (!mkdtemp(f->path))
                return -1;
        f->dirfd = open(f->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (f->dirfd < 0)
                return -1;

        put(f->dirfd, "memory.events", memory_events);
        put(f->dirfd, "cpu.stat", cpu_stat);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        struct dirent *de;
        DIR *d;

        /* The directory holds only the plain files the tests made. */
        d = fdopendir(f->dirfd);
        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
                    unlinkat(dirfd(d), de->d_name, 0) < 0)
                        return -1;
        closedir(d);
        if (rmdir(f->path) < 0)
                return -1;
        free(f);
        return 0;
}

static void test_read_file(void **state) {
        fixture *f = *state;
        char buf[256], small[5];
        size_t len = 0;

        assert_int_equal(read_file_at(f->dirfd, "cpu.stat", buf, sizeof(buf), &len), 0);
        assert_string_equal(buf, cpu_stat);
        assert_int_equal(len, strlen(cpu_stat));

        /* Cut at size-1 and terminated. */
        assert_int_equal(read_file_at(f->dirfd, "cpu.stat", small, sizeof(small), &len), 0);
        assert_string_equal(small, "usag");
        assert_int_equal(len, 4);

        /* ret_len is optional. */
        assert_int_equal(read_file_at(f->dirfd, "memory.events", buf, sizeof(buf), NULL), 0);
        assert_string_equal(buf, memory_events);

        /* Size 1 holds only the terminator. */
        assert_int_equal(read_file_at(f->dirfd, "cpu.stat", small, 1, &len), 0);
        assert_string_equal(small, "");
        assert_int_equal(len, 0);

        put(f->dirfd, "empty", "");
        len = 99;
        assert_int_equal(read_file_at(f->dirfd, "empty", buf, sizeof(buf), &len), 0);
        assert_string_equal(buf, "");
        assert_int_equal(len, 0);

        len = 99;
        assert_int_equal(read_file_at(f->dirfd, "missing", buf, sizeof(buf), &len), -ENOENT);
        assert_int_equal(len, 99);
        assert_int_equal(read_file_at(f->dirfd, "cpu.stat", buf, 0, &len), -EINVAL);
        assert_int_equal(read_file_at(f->dirfd, ".", buf, sizeof(buf), &len), -EISDIR);
        assert_int_equal(read_file_at(-1, "cpu.stat", buf, sizeof(buf), &len), -EBADF);
        assert_int_equal(len, 99);

        /* AT_FDCWD and an absolute path work as openat() does. */
        assert_int_equal(read_file_at(AT_FDCWD, "/proc/self/stat", buf, sizeof(buf), &len), 0);
        assert_true(len > 0);
}

static void test_write_file(void **state) {
        fixture *f = *state;
        char buf[64];

        put(f->dirfd, "memory.max", "max\n");
        assert_int_equal(write_file_at(f->dirfd, "memory.max", "268435456"), 0);
        assert_int_equal(read_file_at(f->dirfd, "memory.max", buf, sizeof(buf), NULL), 0);
        assert_string_equal(buf, "268435456");

        /* No O_CREAT: cgroupfs files exist or the controller is missing. */
        assert_int_equal(write_file_at(f->dirfd, "cgroup.kill", "1"), -ENOENT);
        assert_int_equal(faccessat(f->dirfd, "cgroup.kill", F_OK, 0), -1);
        assert_int_equal(write_file_at(f->dirfd, ".", "1"), -EISDIR);
        assert_int_equal(write_file_at(f->dirfd, "memory.max", NULL), -EINVAL);

        /* Errors of write(2) itself come back as -errno. */
        if (access("/dev/full", W_OK) == 0)
                assert_int_equal(write_file_at(AT_FDCWD, "/dev/full", "1"), -ENOSPC);
}

/* A short write is -EIO: RLIMIT_FSIZE cuts the write after 4 bytes. */
static void test_write_file_short(void **state) {
        fixture *f = *state;
        struct rlimit old, small;
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_sa;
        int r;

        put(f->dirfd, "short", "");
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
        small = (struct rlimit){ .rlim_cur = 4, .rlim_max = old.rlim_max };
        assert_int_equal(sigaction(SIGXFSZ, &ign, &old_sa), 0);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);

        r = write_file_at(f->dirfd, "short", "123456789");

        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        assert_int_equal(sigaction(SIGXFSZ, &old_sa, NULL), 0);
        assert_int_equal(r, -EIO);
}

static void test_read_u64(void **state) {
        static const struct {
                const char *text;
                int r;
                uint64_t want;
        } cases[] = {
                { "0\n", 0, 0 },
                { "1234\n", 0, 1234 },
                { "1234", 0, 1234 },
                { "max\n", 0, UINT64_MAX },
                { "18446744073709551615\n", 0, UINT64_MAX },
                { "18446744073709551616\n", -ERANGE, 0 },
                { "", -EINVAL, 0 },
                { "\n", -EINVAL, 0 },
                { "-1\n", -EINVAL, 0 },
                { "+1\n", -EINVAL, 0 },
                { " 1\n", -EINVAL, 0 },
                { "12x\n", -EINVAL, 0 },
                { "0x10\n", -EINVAL, 0 },
                { "1 2\n", -EINVAL, 0 },
                { "maximum\n", -EINVAL, 0 },
                { "Max\n", -EINVAL, 0 },
        };
        fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 42;
                int r;

                put(f->dirfd, "value", cases[i].text);
                r = read_u64_at(f->dirfd, "value", &v);
                if (r != cases[i].r)
                        fail_msg("read_u64_at(\"%s\") = %d, expected %d", cases[i].text, r,
                                 cases[i].r);
                if (r == 0 && v != cases[i].want)
                        fail_msg("read_u64_at(\"%s\") gave %ju, expected %ju", cases[i].text,
                                 (uintmax_t) v, (uintmax_t) cases[i].want);
                if (r < 0 && v != 42)
                        fail_msg("read_u64_at(\"%s\") wrote its result on failure",
                                 cases[i].text);
        }

        assert_int_equal(read_u64_at(f->dirfd, "missing", &(uint64_t){ 0 }), -ENOENT);
}

static void test_keyed(void **state) {
        static const struct {
                const char *text, *key;
                int r;
                uint64_t want;
        } cases[] = {
                { memory_events, "oom", 0, 3 },
                { memory_events, "oom_kill", 0, 2 },
                { memory_events, "oom_group_kill", 0, 1 },
                { memory_events, "max", 0, 17 },
                { memory_events, "low", 0, 0 },
                { memory_events, "oo", -ENOENT, 0 },
                { memory_events, "om", -ENOENT, 0 },
                { memory_events, "kill", -ENOENT, 0 },
                { memory_events, "oom_kil", -ENOENT, 0 },
                { memory_events, "oom_kill_x", -ENOENT, 0 },
                { memory_events, "OOM", -ENOENT, 0 },
                { cpu_stat, "usage_usec", 0, 1234567 },
                { cpu_stat, "user_usec", 0, 1000000 },
                { cpu_stat, "system_usec", 0, 234567 },
                { cpu_stat, "throttled_usec", 0, 81234 },
                { cpu_stat, "nr_throttled", 0, 4 },
                { cpu_stat, "usage", -ENOENT, 0 },
                { cpu_stat, "usec", -ENOENT, 0 },
                /* The prefix key after the longer one, and the last line without "\n". */
                { "oom_kill 5\noom 7", "oom", 0, 7 },
                { "oom_kill 5\noom 7", "oom_kill", 0, 5 },
                { "a 1\r\nb\t2\n", "b", 0, 2 },
                { "a 1\r\nb\t2\n", "a", 0, 1 },
                { "dup 1\ndup 2\n", "dup", 0, 1 },
                { "", "oom", -ENOENT, 0 },
                { "\n\n", "oom", -ENOENT, 0 },
                { "oom\n", "oom", -ENOENT, 0 },
                { "oom x\n", "oom", -EINVAL, 0 },
                { "oom \n", "oom", -EINVAL, 0 },
                { "oom -1\n", "oom", -EINVAL, 0 },
                { "oom 1 2\n", "oom", -EINVAL, 0 },
                { "oom 99999999999999999999\n", "oom", -ERANGE, 0 },
                { memory_events, "", -EINVAL, 0 },
                { memory_events, "oom kill", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 42;
                int r;

                r = read_keyed_u64(cases[i].text, cases[i].key, &v);
                if (r != cases[i].r)
                        fail_msg("case %zu: read_keyed_u64(key \"%s\") = %d, expected %d", i,
                                 cases[i].key, r, cases[i].r);
                if (r == 0 && v != cases[i].want)
                        fail_msg("case %zu: read_keyed_u64(key \"%s\") gave %ju, expected %ju",
                                 i, cases[i].key, (uintmax_t) v, (uintmax_t) cases[i].want);
                if (r < 0 && v != 42)
                        fail_msg("case %zu: wrote its result on failure", i);
        }
}

static void test_keyed_at(void **state) {
        fixture *f = *state;
        uint64_t v = 0;
        char *big;
        size_t off = 0, size = 64 * 1024;

        assert_int_equal(read_keyed_u64_at(f->dirfd, "memory.events", "oom_kill", &v), 0);
        assert_int_equal(v, 2);
        assert_int_equal(read_keyed_u64_at(f->dirfd, "memory.events", "oom", &v), 0);
        assert_int_equal(v, 3);
        assert_int_equal(read_keyed_u64_at(f->dirfd, "cpu.stat", "usage_usec", &v), 0);
        assert_int_equal(v, 1234567);
        assert_int_equal(read_keyed_u64_at(f->dirfd, "cpu.stat", "oom", &v), -ENOENT);
        assert_int_equal(read_keyed_u64_at(f->dirfd, "missing", "oom", &v), -ENOENT);

        /* A file far larger than the first buffer, with the key on its last line. */
        big = malloc(size);
        assert_non_null(big);
        for (int i = 0; off + 64 < size; i++)
                off += (size_t) snprintf(big + off, size - off, "filler_%d %d\n", i, i);
        snprintf(big + off, size - off, "last_key 987654321\n");
        put(f->dirfd, "memory.stat", big);
        free(big);

        v = 0;
        assert_int_equal(read_keyed_u64_at(f->dirfd, "memory.stat", "last_key", &v), 0);
        assert_int_equal(v, 987654321);
        assert_int_equal(read_keyed_u64_at(f->dirfd, "memory.stat", "filler_100", &v), 0);
        assert_int_equal(v, 100);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_read_file),
                cmocka_unit_test(test_write_file),
                cmocka_unit_test(test_write_file_short),
                cmocka_unit_test(test_read_u64),
                cmocka_unit_test(test_keyed),
                cmocka_unit_test(test_keyed_at),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
