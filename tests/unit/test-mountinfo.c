/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/lib/mountinfo.c on fixed text shaped like /proc/self/mountinfo
 * (proc(5)): escaped paths, optional fields, malformed and very long lines, a file bigger
 * than the first read, and this process's own mountinfo. Needs no privilege.
 */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mountinfo.h"

/* Every well-formed line of text, in order; returns how many. */
static size_t parse_all(const char *text, mountinfo *m, mountinfo_entry *out, size_t max) {
        size_t n = 0;
        mountinfo_entry e;

        assert_int_equal(mountinfo_from_text(text, strlen(text), m), 0);
        while (mountinfo_next(m, NULL, &e)) {
                assert_true(n < max);
                out[n++] = e;
        }
        assert_false(mountinfo_next(m, NULL, &e)); /* stays at the end */
        return n;
}

static void test_fields(void **state) {
        (void) state;
        static const char text[] =
                "24 1 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
                "36 35 98:0 /mnt1 /mnt2 ro,noatime master:1 - ext3 /dev/root rw,errors=continue\n"
                "29 24 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:1 master:2 - cgroup2 cgroup2 rw,nsdelegate\n"
                "40 24 0:30 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n";
        mountinfo m;
        mountinfo_entry e[8];

        assert_int_equal(parse_all(text, &m, e, 8), 4);
        assert_string_equal(e[0].root, "/");
        assert_string_equal(e[0].point, "/sys");
        assert_string_equal(e[0].fstype, "sysfs");
        assert_false(e[0].ro);
        /* one optional field */
        assert_string_equal(e[1].root, "/mnt1");
        assert_string_equal(e[1].point, "/mnt2");
        assert_string_equal(e[1].fstype, "ext3");
        assert_true(e[1].ro);
        /* two optional fields, then the separator */
        assert_string_equal(e[2].point, "/sys/fs/cgroup/unified");
        assert_string_equal(e[2].fstype, "cgroup2");
        /* none at all: the separator follows the options */
        assert_string_equal(e[3].point, "/sys/fs/cgroup");
        assert_string_equal(e[3].fstype, "cgroup2");
        assert_false(e[3].ro);
        mountinfo_done(&m);
}

/* Only the lines of one type: cgroup.c's cgroup2 mounts. */
static void test_type(void **state) {
        (void) state;
        static const char text[] = "24 1 0:22 / /sys rw shared:7 - sysfs sysfs rw\n"
                                   "25 24 0:23 / /sys/fs/cgroup ro shared:1 - tmpfs tmpfs ro,mode=755\n"
                                   "26 25 0:24 / /sys/fs/cgroup/memory rw shared:2 - cgroup cgroup rw,memory\n"
                                   "27 25 0:25 /sub /sys/fs/cgroup/unified ro shared:3 - cgroup2 cgroup2 rw\n"
                                   "28 25 0:26 / /x rw - cgroup2x cgroup2 rw\n"
                                   "29 25 0:27 / /y rw - cgroup2\n" /* malformed */
                                   "30 25 0:28 / /z rw - cgroup2 none rw,nsdelegate\n";
        mountinfo m;
        mountinfo_entry e;

        assert_int_equal(mountinfo_from_text(text, strlen(text), &m), 0);
        assert_true(mountinfo_next(&m, "cgroup2", &e));
        assert_string_equal(e.root, "/sub");
        assert_string_equal(e.point, "/sys/fs/cgroup/unified");
        assert_true(e.ro);
        assert_true(mountinfo_next(&m, "cgroup2", &e));
        assert_string_equal(e.point, "/z");
        assert_false(e.ro);
        assert_false(mountinfo_next(&m, "cgroup2", &e));
        mountinfo_done(&m);

        assert_int_equal(mountinfo_from_text(text, strlen(text), &m), 0);
        assert_true(mountinfo_next(&m, "cgroup", &e));
        assert_string_equal(e.point, "/sys/fs/cgroup/memory");
        assert_false(mountinfo_next(&m, "cgroup", &e));
        mountinfo_done(&m);
}

static void test_escapes(void **state) {
        (void) state;
        /* What the kernel writes for " ", "\t", "\n" and "\\" in a path (and a type). */
        static const char text[] = "50 24 0:40 /a\\040b /mnt/with\\040space rw - tmpfs tmpfs rw\n"
                                   "51 24 0:41 / /mnt/tab\\011here rw - tmpfs tmpfs rw\n"
                                   "52 24 0:42 / /mnt/new\\012line rw - tmpfs tmpfs rw\n"
                                   "53 24 0:43 / /mnt/back\\134slash rw - fuse\\040x src rw\n"
                                   /* not escapes: too few digits, not octal, \000, > \377 */
                                   "54 24 0:44 / /m\\04\\9x\\000y\\477 rw - tmpfs tmpfs rw\n"
                                   "55 24 0:45 / /end\\134 rw - tmpfs tmpfs rw\n";
        mountinfo m;
        mountinfo_entry e[8];

        assert_int_equal(parse_all(text, &m, e, 8), 6);
        assert_string_equal(e[0].root, "/a b");
        assert_string_equal(e[0].point, "/mnt/with space");
        assert_string_equal(e[1].point, "/mnt/tab\there");
        assert_string_equal(e[2].point, "/mnt/new\nline");
        assert_string_equal(e[3].point, "/mnt/back\\slash");
        assert_string_equal(e[3].fstype, "fuse x");
        assert_string_equal(e[4].point, "/m\\04\\9x\\000y\\477");
        assert_string_equal(e[5].point, "/end\\");
        mountinfo_done(&m);
}

/* The per-mount options decide, never the superblock's (after the separator). */
static void test_ro(void **state) {
        (void) state;
        static const char text[] = "1 0 0:1 / /a ro - ext4 /dev/sda rw\n"
                                   "2 0 0:1 / /b rw - ext4 /dev/sda ro\n"
                                   "3 0 0:1 / /c nosuid,ro,nodev - ext4 /dev/sda rw\n"
                                   "4 0 0:1 / /d rox,nosuid - ext4 /dev/sda ro\n"
                                   "5 0 0:1 / /e rw,xro - ext4 /dev/sda ro\n"
                                   "6 0 0:1 / /f rw,ro - ext4 /dev/sda rw\n";
        mountinfo m;
        mountinfo_entry e[8];

        assert_int_equal(parse_all(text, &m, e, 8), 6);
        assert_true(e[0].ro);
        assert_false(e[1].ro);
        assert_true(e[2].ro);
        assert_false(e[3].ro);
        assert_false(e[4].ro);
        assert_true(e[5].ro);
        mountinfo_done(&m);
}

/* Lines the kernel never writes are skipped, and the good ones around them still count. */
static void test_malformed(void **state) {
        (void) state;
        static const char text[] = "1 0 0:1 / /good1 rw - ext4 /dev/sda rw\n"
                                   "2 0 0:1 / /nosep rw shared:1 ext4 /dev/sda rw\n" /* no " - " */
                                   "3 0 0:1 / /nosep2 rw\n"
                                   "\n"
                                   "-\n"
                                   " - \n"
                                   "4 0 0:1 / /notype rw -\n"
                                   "5 0 0:1 / /nosource rw - ext4\n"
                                   "6 0 0:1 /x - - ext4 src rw\n" /* too few fields before it */
                                   "7 0 0:1  /emptyroot rw - ext4 src rw\n"
                                   "8 0 0:1 /  rw - ext4 src rw\n" /* empty mount point */
                                   "9 0 0:1 / /good2 rw shared:1 master:2 - ext4 /dev/sda rw";
        mountinfo m;
        mountinfo_entry e[8];

        assert_int_equal(parse_all(text, &m, e, 8), 2);
        assert_string_equal(e[0].point, "/good1");
        assert_string_equal(e[1].point, "/good2"); /* the last line has no newline */
        assert_string_equal(e[1].fstype, "ext4");
        mountinfo_done(&m);

        assert_int_equal(parse_all("", &m, e, 8), 0);
        mountinfo_done(&m);
        assert_int_equal(parse_all("no separator at all, and no newline", &m, e, 8), 0);
        mountinfo_done(&m);
        /* an empty source is what the kernel writes for a mount made with source "" */
        assert_int_equal(parse_all("1 0 0:1 / /x rw - tmpfs  rw\n", &m, e, 8), 1);
        assert_string_equal(e[0].fstype, "tmpfs");
        mountinfo_done(&m);
}

static void test_long_line(void **state) {
        (void) state;
        size_t n = 200000;
        char *point = malloc(n + 1), *text = malloc(n + 200);

        assert_non_null(point);
        assert_non_null(text);
        point[0] = '/';
        memset(point + 1, 'p', n - 1);
        point[n] = '\0';
        int len = snprintf(text, n + 200, "1 0 0:1 / /before rw - ext4 a rw\n"
                                          "2 0 0:1 / %s ro shared:3 - ext4 b rw\n"
                                          "3 0 0:1 / /after rw - ext4 c rw\n",
                           point);
        assert_true(len > 0 && (size_t) len < n + 200);

        mountinfo m;
        mountinfo_entry e[4];
        assert_int_equal(parse_all(text, &m, e, 4), 3);
        assert_string_equal(e[0].point, "/before");
        assert_int_equal(strlen(e[1].point), n);
        assert_string_equal(e[1].point, point);
        assert_true(e[1].ro);
        assert_string_equal(e[2].point, "/after");
        mountinfo_done(&m);
        free(point);
        free(text);
}

/* Lines "id 1 0:1 / /mnt/<id> rw - tmpfs tmpfs rw" for id in [0, count). */
static void write_lines(int fd, unsigned count) {
        for (unsigned i = 0; i < count; i++) {
                char line[128];
                int len = snprintf(line, sizeof line, "%u 1 0:%u / /mnt/%u %s - tmpfs tmpfs rw\n", i, i, i,
                                   i % 2 ? "ro" : "rw");
                assert_int_equal(write(fd, line, (size_t) len), len);
        }
}

static void check_lines(mountinfo *m, unsigned count) {
        mountinfo_entry e;
        unsigned i = 0;

        while (mountinfo_next(m, NULL, &e)) {
                char want[32];
                snprintf(want, sizeof want, "/mnt/%u", i);
                assert_string_equal(e.point, want);
                assert_int_equal(e.ro, i % 2 == 1);
                i++;
        }
        assert_int_equal(i, count);
}

/* Many times the first read's buffer, from a file and from a pipe that hands it over in
 * small pieces (short reads). */
static void test_big_file(void **state) {
        (void) state;
        const unsigned count = 10000; /* ~40 bytes a line: ~24x MOUNTINFO_FIRST_READ */
        char path[] = "/tmp/corral-test-mountinfo-XXXXXX";
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        unlink(path);
        write_lines(fd, count);
        off_t size = lseek(fd, 0, SEEK_CUR);
        assert_true(size > 16 * MOUNTINFO_FIRST_READ);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);

        mountinfo m;
        assert_int_equal(mountinfo_read_fd(fd, &m), 0);
        assert_int_equal(m.len, (size_t) size);
        check_lines(&m, count);
        mountinfo_done(&m);
        close(fd);

        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                write_lines(p[1], count); /* one write(2) per line */
                _exit(0);
        }
        close(p[1]);
        assert_int_equal(mountinfo_read_fd(p[0], &m), 0);
        close(p[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_int_equal(m.len, (size_t) size);
        check_lines(&m, count);
        mountinfo_done(&m);

        assert_int_equal(mountinfo_read_fd(-1, &m), -EBADF);
}

/* This process's own: the root of its mount namespace is always there, as "/". */
static void test_self(void **state) {
        (void) state;
        mountinfo m;
        mountinfo_entry e;
        bool root = false;
        size_t n = 0;

        assert_int_equal(mountinfo_read(&m), 0);
        assert_true(m.len > 0);
        size_t lines = 0;
        for (size_t i = 0; i < m.len; i++)
                lines += m.buf[i] == '\n';
        while (mountinfo_next(&m, NULL, &e)) {
                assert_true(e.point[0] == '/');
                assert_true(e.fstype[0] != '\0');
                root = root || strcmp(e.point, "/") == 0;
                n++;
        }
        assert_true(root);
        assert_int_equal(n, lines); /* every line the kernel writes is well formed */
        mountinfo_done(&m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fields),    cmocka_unit_test(test_type), cmocka_unit_test(test_escapes),  cmocka_unit_test(test_ro),
                cmocka_unit_test(test_malformed), cmocka_unit_test(test_long_line), cmocka_unit_test(test_big_file),
                cmocka_unit_test(test_self),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
