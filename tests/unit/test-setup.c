/* SPDX-License-Identifier: MIT */
/*
 * The child's set-up plan (setup.c): the order the parent builds for commands and for
 * functions, and that a failing step reports itself (step, errno, detail) through the
 * pipe so that the message names it. The plans run in real forked children.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <sched.h>

#include "isolation.h"
#include "setup.h"
#include "spawn.h"

static size_t index_of(const setup_plan *p, spawn_step step) {
        for (size_t i = 0; i < p->n; i++)
                if (p->op[i].step == step)
                        return i;
        return SIZE_MAX;
}

static void test_command_order(void **state) {
        static char *const argv[] = { (char *) "true", NULL };
        rl_set rl = { .n = 0 };
        spawn_request req = {
                .path = "/bin/true", .argv = argv, .cgroup_fd = 5, .rlimits = &rl,
                .stdio = { -1, -1, -1 }, .keep_fds = { -1, -1 },
        };
        setup_plan p;
        setup_plan_build(&req, &p);
        static const spawn_step want[] = { SPAWN_STEP_CGROUP, SPAWN_STEP_SESSION, SPAWN_STEP_SIGNALS,
                                           SPAWN_STEP_RLIMIT, SPAWN_STEP_STDIO, SPAWN_STEP_FDS,
                                           SPAWN_STEP_EXEC };
        assert_int_equal(p.n, sizeof want / sizeof want[0]);
        for (size_t i = 0; i < p.n; i++)
                assert_int_equal(p.op[i].step, want[i]);
}

static int fn_zero(void *arg) {
        return 0;
}

static void test_function_order(void **state) {
        spawn_request req = {
                .cgroup_fd = -EBADF, .stdio = { -1, -1, -1 }, .keep_fds = { 7, 8 }, .fn = fn_zero,
        };
        setup_plan p;
        setup_plan_build(&req, &p);
        /* no group: no cgroup step; no rlimits: no rlimit step */
        assert_int_equal(index_of(&p, SPAWN_STEP_CGROUP), SIZE_MAX);
        assert_int_equal(index_of(&p, SPAWN_STEP_RLIMIT), SIZE_MAX);
        assert_int_equal(index_of(&p, SPAWN_STEP_EXEC), SIZE_MAX);
        assert_true(index_of(&p, SPAWN_STEP_SESSION) < index_of(&p, SPAWN_STEP_FDS_KEEP));
        assert_int_equal(p.op[p.n - 1].step, SPAWN_STEP_FN);
}

/* A function under a filter: fds placed, then what the filter may deny (the crash handler),
 * then the filter, then the function -- and the filter never before the namespaces. */
static void test_function_isolation_order(void **state) {
        ns_plan ns = { .unshare_flags = CLONE_NEWNS, .netns_fd = -1, .n_mounts = 1 };
        ns.mounts[0] = (ns_mount){ NS_MOUNT_PRIVATE, "/" };
        filter_prog prog = { .fprog = { .len = 0 } };
        iso_child iso = { .ns = &ns, .prog = &prog, .notify_fd = 9, .no_new_privs = true };
        spawn_request req = {
                .cgroup_fd = -EBADF, .stdio = { -1, -1, -1 }, .keep_fds = { 7, 8 }, .fn = fn_zero,
                .fn_prepare = fn_zero, .iso = &iso,
        };
        setup_plan p;
        setup_plan_build(&req, &p);
        assert_true(p.fn);
        assert_true(index_of(&p, SPAWN_STEP_PDEATHSIG) < index_of(&p, SPAWN_STEP_NAMESPACES));
        assert_true(index_of(&p, SPAWN_STEP_MOUNTS) < index_of(&p, SPAWN_STEP_FDS_KEEP));
        assert_true(index_of(&p, SPAWN_STEP_FDS_KEEP) < index_of(&p, SPAWN_STEP_FN_PREPARE));
        assert_true(index_of(&p, SPAWN_STEP_FN_PREPARE) < index_of(&p, SPAWN_STEP_SECCOMP));
        assert_int_equal(index_of(&p, SPAWN_STEP_SECCOMP), p.n - 2);
        assert_int_equal(p.op[p.n - 1].step, SPAWN_STEP_FN);
        assert_int_equal(index_of(&p, SPAWN_STEP_NO_NEW_PRIVS), SIZE_MAX); /* the filter's step sets it */

        iso.prog = NULL; /* NoNewPrivileges= alone: its own step, last before the function */
        setup_plan_build(&req, &p);
        assert_int_equal(index_of(&p, SPAWN_STEP_NO_NEW_PRIVS), p.n - 2);
        assert_int_equal(index_of(&p, SPAWN_STEP_SECCOMP), SIZE_MAX);
}

/* Run plan in a child; returns 1 with the failure, 0 on EOF (exec or fn went ahead). */
static int run_child(const setup_plan *plan, spawn_failure *ret, int *ret_status) {
        int fds[2];
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(fds[0]);
                setup_run(plan, fds[1], false);
        }
        close(fds[1]);
        ssize_t n = read(fds[0], ret, sizeof *ret);
        close(fds[0]);
        assert_int_equal(waitpid(pid, ret_status, 0), pid);
        return n == (ssize_t) sizeof *ret;
}

static void test_failing_step_names_itself(void **state) {
        static char *const argv[] = { (char *) "true", NULL };
        /* fd 1000 is not open: dup2 fails with EBADF in the stdio step, for stdout */
        spawn_request req = {
                .path = "/bin/true", .argv = argv, .cgroup_fd = -EBADF, .stdio = { -1, 1000, -1 },
                .keep_fds = { -1, -1 },
        };
        setup_plan p;
        spawn_failure f;
        int status;
        char msg[200];

        setup_plan_build(&req, &p);
        assert_int_equal(run_child(&p, &f, &status), 1);
        assert_int_equal(f.step, SPAWN_STEP_STDIO);
        assert_int_equal(f.err, EBADF);
        assert_int_equal(f.detail, 1);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 127);
        spawn_failure_describe(&f, msg, sizeof msg);
        assert_string_equal(msg, "setting up stdio: Bad file descriptor");
}

static void test_exec_failure_is_the_exec_step(void **state) {
        static char *const argv[] = { (char *) "nothing", NULL };
        spawn_request req = {
                .path = "/nonexistent/corral-test", .argv = argv, .cgroup_fd = -EBADF,
                .stdio = { -1, -1, -1 }, .keep_fds = { -1, -1 },
        };
        setup_plan p;
        spawn_failure f;
        int status;

        setup_plan_build(&req, &p);
        assert_int_equal(run_child(&p, &f, &status), 1);
        assert_int_equal(f.step, SPAWN_STEP_EXEC);
        assert_int_equal(f.err, ENOENT);
        assert_string_equal(setup_step_name(f.step), "exec");
}

static void test_success_is_eof(void **state) {
        static char *const argv[] = { (char *) "true", NULL };
        spawn_request req = {
                .path = "/bin/true", .argv = argv, .cgroup_fd = -EBADF, .stdio = { -1, -1, -1 },
                .keep_fds = { -1, -1 },
        };
        setup_plan p;
        spawn_failure f;
        int status;

        setup_plan_build(&req, &p);
        assert_int_equal(run_child(&p, &f, &status), 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_unknown_step_name(void **state) {
        assert_string_equal(setup_step_name(-1), "set-up");
        assert_string_equal(setup_step_name(_SPAWN_STEP_MAX), "set-up");
        assert_string_equal(setup_step_name(SPAWN_STEP_RLIMIT), "setrlimit");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_command_order),
                cmocka_unit_test(test_function_order),
                cmocka_unit_test(test_function_isolation_order),
                cmocka_unit_test(test_failing_step_names_itself),
                cmocka_unit_test(test_exec_failure_is_the_exec_step),
                cmocka_unit_test(test_success_is_eof),
                cmocka_unit_test(test_unknown_step_name),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
