/* SPDX-License-Identifier: MIT */
/*
 * PrivatePIDs=' init (init.c), run for real: pid 1 of a pid namespace cloned here (root
 * only), init_start() with a pid 2 function of the test's. pid 2 shares pid 1's memory
 * and TLS until it execs, so pid 1 must not run beside it: nothing pid 1 does while pid 2
 * sets itself up may show in pid 2 (errno), signals pid 1 gets meanwhile wait for pid 2's
 * exec, and every way pid 2 leaves (exec, a failing set-up step, a signal) ends the wait.
 * The same points hold where pid 2 is a fork (init_start without a pid 2 function; every
 * sanitized build), which waits through a socket pair.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "init.h"
#include "isolation.h"
#include "namespace.h"
#include "setup.h"
#include "spawn.h"

typedef struct run {
        int report[2]; /* init's report pipe (errfd) */
        int ready[2];  /* pid 2 -> test: in its set-up now */
        int go[2];     /* test -> pid 2: go on */
        pid_t init;    /* in our pid namespace */
        const setup_plan *plan; /* or a function: */
        int (*fn)(void *arg);
        bool fork_path; /* init_start's fork (no pid2_fn): pid 2 shares no memory */
} run;

/* pid 1: what step_pidns_init does, with the test's pid 2 */
static _Noreturn void init_main(run *r) {
        close(r->report[0]);
        close(r->ready[0]);
        close(r->go[1]);
        if (r->plan)
                setup_run(r->plan, r->report[1], false); /* never returns */
        int err = init_start(r->report[1], NULL, false, r->fork_path ? NULL : r->fn, r);
        if (err == 0)
                _exit(r->fn(r)); /* pid 2 of the fork (asked for, or a sanitized build) */
        _exit(100);
}

static bool start(run *r) {
        if (geteuid() != 0)
                return false;
        assert_int_equal(pipe2(r->report, O_CLOEXEC), 0);
        assert_int_equal(pipe2(r->ready, O_CLOEXEC), 0);
        assert_int_equal(pipe2(r->go, O_CLOEXEC), 0);
        long pid = syscall(SYS_clone, (unsigned long) (CLONE_NEWPID | SIGCHLD), 0UL, 0UL, 0UL, 0UL);
        if (pid < 0)
                return false;
        if (pid == 0)
                init_main(r);
        r->init = (pid_t) pid;
        close(r->report[1]);
        close(r->ready[1]);
        close(r->go[0]);
        return true;
}

/* Every record until EOF (10 s at most); returns how many, the last in *last. */
static int finish(run *r, spawn_failure *first, spawn_failure *last, int *ret_status) {
        int n = 0;
        for (;;) {
                struct pollfd p = { .fd = r->report[0], .events = POLLIN };
                assert_int_equal(poll(&p, 1, 10000), 1); /* else pid 2 or init outlived it */
                spawn_failure f;
                ssize_t k = read(r->report[0], &f, sizeof f);
                if (k == 0)
                        break;
                assert_int_equal(k, sizeof f);
                if (n++ == 0 && first)
                        *first = f;
                *last = f;
        }
        assert_int_equal(waitpid(r->init, ret_status, 0), r->init);
        close(r->report[0]);
        close(r->ready[0]);
        close(r->go[1]);
        return n;
}

/* The wait status init reported for pid 2 (its last record). */
static int pid2_status(run *r) {
        spawn_failure last = { 0 };
        int status;
        assert_true(finish(r, NULL, &last, &status) >= 1);
        assert_int_equal(last.step, SPAWN_STEP_PIDNS_EXIT);
        return last.detail;
}

static char proc_state(pid_t pid) {
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        assert_true(n > 0);
        buf[n] = 0;
        const char *p = strrchr(buf, ')');
        assert_non_null(p);
        return p[2];
}

static void wait_state(pid_t pid, bool stopped) {
        for (int i = 0; i < 5000 && (proc_state(pid) == 'T') != stopped; i++)
                usleep(1000);
        assert_true((proc_state(pid) == 'T') == stopped);
}

static void sleep_ms(long ms) {
        struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
        while (nanosleep(&t, &t) < 0 && errno == EINTR)
                ;
}

/* pid 2: a failing call leaves EBADF, as a failing set-up step's would; is it still there
 * when the step reports it? (read and write that succeed leave errno alone.) */
static int pid2_keeps_errno(void *arg) {
        run *r = arg;
        char b = 'r';
        (void) close(-1);
        if (write(r->ready[1], &b, 1) != 1 || read(r->go[0], &b, 1) != 1)
                return 2;
        return errno == EBADF ? 0 : 1;
}

/* A SIGSTOP and SIGCONT of pid 1 while pid 2 is in its set-up: an init that already served
 * came back from sigtimedwait() with EINTR and wrote it into the errno they share. */
static void test_init_does_not_touch_pid2s_errno(void **state) {
        run r = { .fn = pid2_keeps_errno, .fork_path = *state != NULL };
        if (!start(&r))
                skip();
        char b;
        assert_int_equal(read(r.ready[0], &b, 1), 1);
        assert_int_equal(kill(r.init, SIGSTOP), 0);
        wait_state(r.init, true);
        assert_int_equal(kill(r.init, SIGCONT), 0);
        wait_state(r.init, false);
        sleep_ms(100); /* time for a serving init to return from its wait */
        assert_int_equal(write(r.go[1], &b, 1), 1);
        int status = pid2_status(&r);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0); /* 1: errno was not pid 2's any more */
}

/* pid 2 asks its init to forward SIGUSR1 to it, during its set-up */
static int pid2_signals_init(void *arg) {
        (void) kill(1, SIGUSR1);
        sleep_ms(300);
        return 7;
}

static void test_signals_wait_for_pid2s_exec(void **state) {
        run r = { .fn = pid2_signals_init, .fork_path = *state != NULL };
        if (!start(&r))
                skip();
        int status = pid2_status(&r);
        /* the signal stayed pending in pid 1 until pid 2 had left its memory, then went to
         * a pid 2 that was gone (its exit status is its own) */
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 7);
}

/* pid 2 execs a program that asks init to forward SIGUSR1: init serves from the exec on */
static int pid2_execs(void *arg) {
        static char *const argv[] = { (char *) "sh", (char *) "-c", (char *) "kill -USR1 1; exec sleep 5", NULL };
        static char *const envp[] = { (char *) "PATH=/usr/bin:/bin", NULL };
        execve("/bin/sh", argv, envp);
        return 126;
}

static void test_exec_ends_the_wait(void **state) {
        run r = { .fn = pid2_execs, .fork_path = *state != NULL };
        if (!start(&r))
                skip();
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int status = pid2_status(&r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGUSR1);
        assert_true(t1.tv_sec - t0.tv_sec < 4); /* not after sleep's 5 s */
}

static int pid2_kills_itself(void *arg) {
        (void) kill(getpid(), SIGKILL);
        return 3;
}

static void test_pid2_killed_before_exec(void **state) {
        run r = { .fn = pid2_kills_itself, .fork_path = *state != NULL };
        if (!start(&r))
                skip();
        int status = pid2_status(&r);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* A stop of the run (SIGKILL of pid 1) while pid 1 waits for pid 2: both are gone. */
static int pid2_blocks(void *arg) {
        run *r = arg;
        char b = 'r';
        if (write(r->ready[1], &b, 1) != 1)
                return 2;
        return read(r->go[0], &b, 1) < 0 ? 3 : 0;
}

static void test_kill_while_waiting(void **state) {
        run r = { .fn = pid2_blocks, .fork_path = *state != NULL };
        if (!start(&r))
                skip();
        char b;
        assert_int_equal(read(r.ready[0], &b, 1), 1);
        assert_int_equal(kill(r.init, SIGKILL), 0);
        spawn_failure last = { 0 };
        int status;
        /* EOF: pid 2's copy of the report pipe closed too, so it died with pid 1 */
        assert_int_equal(finish(&r, NULL, &last, &status), 0);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* The real plan: a step after the init fails in pid 2; its record comes first, exact,
 * then pid 1's with pid 2's exit status. Many times: the errno must always be the step's. */
static void test_failing_step_after_init(void **state) {
        static char *const argv[] = { (char *) "true", NULL };
        ns_plan ns = { .clone_flags = CLONE_NEWPID, .netns_fd = -1 };
        iso_child iso = { .ns = &ns };
        spawn_cwd cwd = { .fd = -1, .path = "/nonexistent/corral-test-init" };
        spawn_request req = {
                .path = "/bin/true", .argv = argv, .cgroup_fd = -EBADF, .stdio = { -1, -1, -1 },
                .keep_fds = { -1, -1 }, .iso = &iso, .cwd = &cwd,
        };
        setup_plan p = { .n = 3 };
        p.op[0] = (setup_op){ .step = SPAWN_STEP_PIDNS_INIT, .ptr = &req };
        p.op[1] = (setup_op){ .step = SPAWN_STEP_CHDIR, .ptr = &cwd };
        p.op[2] = (setup_op){ .step = SPAWN_STEP_EXEC, .ptr = &req };

        for (int i = 0; i < 20; i++) {
                run r = { .plan = &p };
                if (!start(&r))
                        skip();
                spawn_failure first = { 0 }, last = { 0 };
                int status;
                assert_int_equal(finish(&r, &first, &last, &status), 2);
                assert_int_equal(first.step, SPAWN_STEP_CHDIR);
                assert_int_equal(first.err, ENOENT);
                assert_int_equal(last.step, SPAWN_STEP_PIDNS_EXIT);
                assert_true(WIFEXITED(last.detail) && WEXITSTATUS(last.detail) == 127);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 127);
        }
}

int main(void) {
        /* each point twice: pid 2 in pid 1's memory (a sanitized build forks there too),
         * and init_start's fork */
        static int fork_path = 1;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_prestate(test_init_does_not_touch_pid2s_errno, NULL),
                cmocka_unit_test_prestate(test_init_does_not_touch_pid2s_errno, &fork_path),
                cmocka_unit_test_prestate(test_signals_wait_for_pid2s_exec, NULL),
                cmocka_unit_test_prestate(test_signals_wait_for_pid2s_exec, &fork_path),
                cmocka_unit_test_prestate(test_exec_ends_the_wait, NULL),
                cmocka_unit_test_prestate(test_exec_ends_the_wait, &fork_path),
                cmocka_unit_test_prestate(test_pid2_killed_before_exec, NULL),
                cmocka_unit_test_prestate(test_pid2_killed_before_exec, &fork_path),
                cmocka_unit_test_prestate(test_kill_while_waiting, NULL),
                cmocka_unit_test_prestate(test_kill_while_waiting, &fork_path),
                cmocka_unit_test(test_failing_step_after_init),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
