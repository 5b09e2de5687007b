/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/lib/net.c (root only, SKIP otherwise): a new namespace has lo up
 * and nothing else; a process that joins it can serve and connect on 127.0.0.1 but
 * reaches no other address; a namespace whose lo went down is not pristine and is not
 * pooled; a pristine one comes back from the pool; and this process's own namespace
 * never changed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "net.h"

static ino_t own_netns(void) {
        struct stat st;
        assert_int_equal(stat("/proc/self/ns/net", &st), 0);
        return st.st_ino;
}

/* In a forked child inside the namespace: 0 when loopback works and nothing else does. */
static int probe(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof a;
        struct ifreq ifr = {};
        int s, c, fd;

        fd = socket(AF_INET, SOCK_DGRAM, 0);
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
        if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 || !(ifr.ifr_flags & IFF_UP))
                return 10;
        close(fd);

        s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || bind(s, (struct sockaddr *) &a, sizeof a) < 0 || listen(s, 1) < 0 ||
            getsockname(s, (struct sockaddr *) &a, &len) < 0)
                return 11;
        c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *) &a, sizeof a) < 0)
                return 12;
        close(c);
        close(s);

        /* 192.0.2.1 (TEST-NET-1): there is no route out of this namespace */
        struct sockaddr_in out = { .sin_family = AF_INET, .sin_port = htons(80) };
        inet_pton(AF_INET, "192.0.2.1", &out.sin_addr);
        c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *) &out, sizeof out) == 0 || errno != ENETUNREACH)
                return 13;
        return 0;
}

static int in_ns(int fd, int (*fn)(void)) {
        int status;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (setns(fd, CLONE_NEWNET) < 0)
                        _exit(1);
                _exit(fn());
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int lo_down(void) {
        struct ifreq ifr = {};
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
        if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return 1;
        ifr.ifr_flags &= ~IFF_UP;
        return ioctl(fd, SIOCSIFFLAGS, &ifr) < 0 ? 2 : 0;
}

static void test_new(void **state) {
        char why[NET_WHY_MAX] = "";
        ino_t before = own_netns();
        int fd = -1;

        if (geteuid() != 0)
                skip();
        if (net_ns_new(&fd, why) < 0)
                fail_msg("net_ns_new: %s", why);
        assert_true(fd >= 0);
        assert_int_equal(own_netns(), before);
        assert_int_equal(net_ns_pristine(fd, why), 1);
        assert_int_equal(in_ns(fd, probe), 0);
        assert_int_equal(in_ns(fd, lo_down), 0);
        assert_int_equal(net_ns_pristine(fd, why), 0);
        close(fd);
}

static void test_pool(void **state) {
        char why[NET_WHY_MAX] = "";
        int fd, fd2, fd3;
        bool reused;
        struct stat a, b;

        if (geteuid() != 0)
                skip();
        assert_int_equal(net_ns_get(&fd, &reused, why), 0);
        assert_false(reused);
        assert_int_equal(fstat(fd, &a), 0);
        net_ns_put(fd, true);
        assert_int_equal(net_ns_get(&fd2, &reused, why), 0);
        assert_true(reused);
        assert_int_equal(fstat(fd2, &b), 0);
        assert_int_equal(a.st_ino, b.st_ino); /* the same namespace */
        /* a spoilt one is not pooled */
        assert_int_equal(in_ns(fd2, lo_down), 0);
        net_ns_put(fd2, true);
        assert_int_equal(net_ns_get(&fd3, &reused, why), 0);
        assert_false(reused);
        /* not reusable: closed, not pooled */
        net_ns_put(fd3, false);
        assert_int_equal(net_ns_get(&fd, &reused, why), 0);
        assert_false(reused);
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_new),
                cmocka_unit_test(test_pool),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
