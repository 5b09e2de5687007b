/* SPDX-License-Identifier: MIT */
/*
 * A function run's isolation as the forkserver receives it (isolation.c: iso_child_pack,
 * iso_child_unpack): every field survives the trip, the paths and the filter's program
 * come back in a private writable mapping, and a malformed message is refused (-EBADMSG)
 * rather than half-read.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "isolation.h"

static struct sock_filter insns[3] = {
        { 0x20, 0, 0, 4 }, { 0x15, 0, 1, FILTER_FN_SELF }, { 0x06, 0, 0, 0x7fff0000 },
};

static void sample(iso_child *c, ns_plan *ns, filter_prog *prog) {
        *ns = (ns_plan){ .unshare_flags = CLONE_NEWNS | CLONE_NEWIPC, .clone_flags = CLONE_NEWUSER, .netns_fd = 9,
                         .userns = true, .lo_up = true, .uid_map = "1000 1000 1", .gid_map = "1000 1000 1",
                         .n_mounts = 2 };
        ns->mounts[0] = (ns_mount){ NS_MOUNT_PRIVATE, "/" };
        ns->mounts[1] = (ns_mount){ NS_MOUNT_TMPFS, "/var/tmp" };
        *prog = (filter_prog){ .fprog = { .len = 3, .filter = insns } };
        *c = (iso_child){ .ns = ns, .prog = prog, .notify_fd = 8, .no_new_privs = true, .set_creds = true,
                          .uid = 61200, .gid = 61200 };
}

static void test_round_trip(void **state) {
        iso_child c;
        ns_plan ns;
        filter_prog prog;
        iso_unpacked u;
        int fd = -1;

        sample(&c, &ns, &prog);
        assert_int_equal(iso_child_pack(&c, &fd), 0);
        assert_int_equal(iso_child_unpack(fd, 10, 11, &u), 0);
        close(fd);
        /* the fds are the server's, the parent is the server */
        assert_int_equal(u.child.notify_fd, 10);
        assert_int_equal(u.child.parent_pid, getpid());
        assert_ptr_equal(u.child.ns, &u.ns);
        assert_int_equal(u.ns.netns_fd, 11);
        assert_int_equal(u.ns.unshare_flags, CLONE_NEWNS | CLONE_NEWIPC);
        assert_int_equal(u.ns.clone_flags, CLONE_NEWUSER);
        assert_true(u.ns.userns && u.ns.lo_up);
        assert_string_equal(u.ns.uid_map, "1000 1000 1");
        assert_string_equal(u.ns.gid_map, "1000 1000 1");
        assert_int_equal(u.ns.n_mounts, 2);
        assert_int_equal(u.ns.mounts[1].op, NS_MOUNT_TMPFS);
        assert_string_equal(u.ns.mounts[1].path, "/var/tmp");
        assert_ptr_equal(u.child.prog, &u.prog);
        assert_int_equal(u.prog.fprog.len, 3);
        assert_memory_equal(u.prog.fprog.filter, insns, sizeof insns);
        assert_true(u.child.no_new_privs && u.child.set_creds);
        assert_int_equal(u.creds.uid, 61200);
        assert_int_equal(u.creds.gid, 61200);
        /* the child's copy is writable (the placeholder becomes its pid), ours unchanged */
        u.prog.fprog.filter[1].k = 42;
        assert_int_equal(insns[1].k, FILTER_FN_SELF);
        iso_unpacked_done(&u);
        assert_null(u.map);
}

static void test_nothing_but_pdeathsig(void **state) {
        iso_child c = { .notify_fd = -1 };
        iso_unpacked u;
        int fd = -1;
        assert_int_equal(iso_child_pack(&c, &fd), 0);
        assert_int_equal(iso_child_unpack(fd, -1, -1, &u), 0);
        close(fd);
        assert_null(u.child.ns);
        assert_null(u.child.prog);
        assert_false(u.child.no_new_privs || u.child.set_creds);
        iso_unpacked_done(&u);
}

/* A packed sample with one thing spoiled at byte offset off (or cut to size). */
static int spoiled(size_t off, const void *bytes, size_t n, off_t cut, int notify_fd) {
        iso_child c;
        ns_plan ns;
        filter_prog prog;
        iso_unpacked u;
        int fd = -1;
        sample(&c, &ns, &prog);
        assert_int_equal(iso_child_pack(&c, &fd), 0);
        if (bytes)
                assert_int_equal(pwrite(fd, bytes, n, (off_t) off), (ssize_t) n);
        if (cut >= 0)
                assert_int_equal(ftruncate(fd, cut), 0);
        int r = iso_child_unpack(fd, notify_fd, -1, &u);
        if (r == 0)
                iso_unpacked_done(&u);
        close(fd);
        return r;
}

static void test_malformed(void **state) {
        uint32_t v;
        assert_int_equal(spoiled(0, NULL, 0, -1, 10), 0); /* the control */
        v = 0x12345678; /* magic */
        assert_int_equal(spoiled(0, &v, sizeof v, -1, 10), -EBADMSG);
        v = NS_MAX_MOUNTS + 1; /* n_mounts, after magic, flags, 2 x flags, uid, gid */
        assert_int_equal(spoiled(24, &v, sizeof v, -1, 10), -EBADMSG);
        v = 5000; /* n_insns past BPF_MAXINSNS */
        assert_int_equal(spoiled(28, &v, sizeof v, -1, 10), -EBADMSG);
        /* a program but no listener socket beside it */
        assert_int_equal(spoiled(0, NULL, 0, -1, -1), -EBADMSG);
        /* cut inside the header, and inside the last path (no NUL any more) */
        assert_int_equal(spoiled(0, NULL, 0, 100, 10), -EBADMSG);
        iso_child c;
        ns_plan ns;
        filter_prog prog;
        int fd = -1;
        sample(&c, &ns, &prog);
        assert_int_equal(iso_child_pack(&c, &fd), 0);
        off_t end = lseek(fd, 0, SEEK_END);
        close(fd);
        assert_int_equal(spoiled(0, NULL, 0, end - 1, 10), -EBADMSG);
        /* a mount op that does not exist */
        v = 99;
        assert_int_equal(spoiled(32 + 2 * NS_ID_MAP_MAX, &v, sizeof v, -1, 10), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_nothing_but_pdeathsig),
                cmocka_unit_test(test_malformed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
