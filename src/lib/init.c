/* SPDX-License-Identifier: MIT */
/*
 * PrivatePIDs=: the tiny init that is pid 1 of a run's pid namespace.
 *
 * The child is cloned into a new pid namespace (CLONE_NEWPID) and is its pid 1. A program
 * that is not written to be an init misbehaves there: the kernel drops signals pid 1 has
 * no handler for (SIGTERM from the grace period would do nothing) and orphans pile up as
 * zombies. So pid 1 stays corral's: it forks, the fork (pid 2) goes on with the set-up
 * plan and execs the program, and pid 1 only waits — it forwards every signal it gets
 * to pid 2, reaps every orphan, and when pid 2 ends it writes pid 2's wait status on the
 * report pipe (SPAWN_STEP_PIDNS_EXIT: the parent reads the run's real status there,
 * since an init cannot die of most signals) and exits. Its exit makes the kernel kill
 * everything left in the namespace; its PR_SET_PDEATHSIG makes corral's death do the same.
 *
 * Between clone and exec: async-signal-safe system calls only, no allocation.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "macro.h"
#include "spawn.h"

static long raw_sigmask(int how, const uint64_t *set, uint64_t *old) {
        return syscall(SYS_rt_sigprocmask, how, set, old, sizeof(uint64_t));
}

_noreturn_ static void serve(pid_t main_pid, int errfd) {
        uint64_t all = ~UINT64_C(0);
        int main_status = 0;

        /* pid 1 holds nothing the run needs: only the report pipe stays open. */
        if (errfd > 0)
                (void) syscall(SYS_close_range, 0U, (unsigned) errfd - 1, 0U);
        (void) syscall(SYS_close_range, (unsigned) errfd + 1, ~0U, 0U);
        (void) prctl(PR_SET_NAME, "corral-init", 0, 0, 0);

        for (;;) {
                siginfo_t si;
                long sig = syscall(SYS_rt_sigtimedwait, &all, &si, NULL, sizeof all);
                bool main_done = false;

                if (sig < 0)
                        continue; /* EINTR */
                if (sig != SIGCHLD) {
                        (void) kill(main_pid, (int) sig);
                        continue;
                }
                for (;;) {
                        int status;
                        pid_t w = (pid_t) syscall(SYS_wait4, -1, &status, WNOHANG, NULL);
                        if (w <= 0)
                                break;
                        if (w == main_pid) {
                                main_status = status;
                                main_done = true;
                        }
                }
                if (main_done)
                        break;
        }

        spawn_failure f = { SPAWN_STEP_PIDNS_EXIT, 0, main_status };
        ssize_t _unused_ n = write(errfd, &f, sizeof f);
        _exit(WIFEXITED(main_status) ? WEXITSTATUS(main_status) : 128 + WTERMSIG(main_status));
}

int init_start(int errfd) {
        uint64_t all = ~UINT64_C(0), old = 0;
        long pid;

        if (getpid() != 1)
                return ENOTSUP; /* not cloned into a new pid namespace (an old kernel's fork fallback) */
        /* Block everything first, so that no signal slips between the fork and the wait. */
        if (raw_sigmask(SIG_SETMASK, &all, &old) < 0)
                return errno;
        pid = syscall(SYS_clone, (unsigned long) SIGCHLD, 0UL, 0UL, 0UL, 0UL);
        if (pid < 0)
                return errno;
        if (pid == 0) {
                /* pid 2: the rest of the plan, then the program, with the mask it had. */
                if (raw_sigmask(SIG_SETMASK, &old, NULL) < 0)
                        return errno;
                return 0;
        }
        serve((pid_t) pid, errfd);
}
