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
 * Its credentials: the init is forked from the set-up before the rlimits and credential
 * steps (it must mount the namespace's /proc first, and pid 2 must be its child), so it
 * would stay root (corrald's runs for a uid-1000 caller, User=, DynamicUser=) or keep the
 * capabilities a user namespace of its own gave it (the unprivileged path). Right after
 * the fork it drops them: the run's uid and gid (then PR_SET_PDEATHSIG again: a uid change
 * clears it), no capabilities, not dumpable. Nothing of a run runs with more than the run.
 *
 * Between clone and exec: async-signal-safe system calls only, no allocation.
 */
#include <errno.h>
#include <linux/capability.h>
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

/* pid 1, right after the fork: no more privilege than the run. 0 or an errno. */
static int drop_privileges(const spawn_credentials *creds, bool userns) {
        if (creds) {
                /* raw syscalls: glibc's would broadcast to threads the child does not have */
                if (syscall(SYS_setgroups, creds->n_groups, creds->groups) < 0 ||
                    syscall(SYS_setresgid, creds->gid, creds->gid, creds->gid) < 0 ||
                    syscall(SYS_setresuid, creds->uid, creds->uid, creds->uid) < 0)
                        return errno;
                /* the uid change cleared it; pid 1's death is what empties the namespace */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                        return errno;
        }
        if (creds || userns) {
                struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
                struct __user_cap_data_struct d[2] = {};
                if (syscall(SYS_capset, &h, d) < 0)
                        return errno;
        }
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return errno;
        return 0;
}

int init_start(int errfd, const spawn_credentials *creds, bool userns) {
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
        int err = drop_privileges(creds, userns);
        if (err) {
                /* pid 2 must not run under an init that kept privilege: end both */
                spawn_failure f = { SPAWN_STEP_PIDNS_INIT, err, 0 };
                (void) kill((pid_t) pid, SIGKILL);
                ssize_t _unused_ n = write(errfd, &f, sizeof f);
                _exit(127);
        }
        serve((pid_t) pid, errfd);
}
