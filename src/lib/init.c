/* SPDX-License-Identifier: MIT */
/*
 * PrivatePIDs=: the tiny init that is pid 1 of a run's pid namespace.
 *
 * The child is cloned into a new pid namespace (CLONE_NEWPID) and is its pid 1. A program
 * that is not written to be an init misbehaves there: the kernel drops signals pid 1 has
 * no handler for (SIGTERM from the grace period would do nothing) and orphans pile up as
 * zombies. So pid 1 stays corral's: it starts pid 2, which goes on with the set-up plan and
 * execs the program (sharing pid 1's memory until then, on a stack of its own: clone-vm.c;
 * no copy of corral's page tables for a process that only execs), and pid 1 only waits — it
 * forwards every signal it gets to pid 2, reaps every orphan, and when pid 2 ends it writes
 * pid 2's wait status on the report pipe (SPAWN_STEP_PIDNS_EXIT: the parent reads the
 * run's real status there, since an init cannot die of most signals) and exits. Its exit
 * makes the kernel kill everything left in the namespace; its PR_SET_PDEATHSIG makes
 * corral's death do the same.
 *
 * Its credentials: the init is forked from the set-up before the rlimits and credential
 * steps (it must mount the namespace's /proc first, and pid 2 must be its child), so it
 * would stay root (corrald's runs for a uid-1000 caller, User=, DynamicUser=) or keep the
 * capabilities a user namespace of its own gave it (the unprivileged path). Right after
 * starting pid 2 it drops them: not dumpable, the run's uid and gid (then PR_SET_PDEATHSIG
 * again: a uid change clears it), no capabilities; pid 2 waits for that (a futex in their
 * shared memory) before it goes on. Nothing of a run runs beside an init with more than
 * the run.
 *
 * In one memory, pid 1 and pid 2 never run at the same time: they share the thread's TLS
 * (errno, everything of glibc's that is per thread), and pid 1's sigtimedwait() failing
 * with EINTR (a SIGSTOP and SIGCONT of it) would write errno under a set-up step that is
 * about to report its own. pid 2 sleeps in the kernel until pid 1 has dropped its
 * privileges and woken it; pid 1 then sleeps until pid 2 has left its memory, by exec or
 * by death, which the kernel signals by zeroing a word of pid 1's and waking it
 * (CLONE_CHILD_CLEARTID, in mm_release), and only then starts serving. pid 1's futex wait
 * cannot fail while pid 2 runs (no handler runs: every signal is blocked; a stop restarts
 * it; EAGAIN only once pid 2 has left), nor pid 2's while pid 1 still uses errno (EAGAIN
 * only once pid 1 is done). Signals that reach pid 1 in the meantime stay pending; it
 * forwards them to the program from its first instruction. A set-up failure of pid 2 is written by pid 2 and
 * its exit status by pid 1, as always. Where pid 2 is a fork instead (sanitized builds,
 * clone3 refused, other architectures), a socket pair gives the same order: pid 2 reads
 * pid 1's byte before it goes on, pid 1 reads EOF once pid 2's close-on-exec end is gone.
 *
 * Between clone and exec: async-signal-safe system calls only, no allocation.
 */
#include <errno.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clone-vm.h"
#include "init.h"
#include "macro.h"
#include "spawn.h"

static long raw_sigmask(int how, const uint64_t *set, uint64_t *old) {
        return syscall(SYS_rt_sigprocmask, how, set, old, sizeof(uint64_t));
}

/* pid 1 holds nothing the run needs: only the report pipe stays open (and, until pid 2's
 * exec, the fork path's socket: keep, or -1). */
static void serve_prepare(int errfd, int keep) {
        int fds[2] = { errfd < keep ? errfd : keep, errfd < keep ? keep : errfd };
        unsigned from = 0;
        for (int i = 0; i < 2; i++) {
                if (fds[i] < 0)
                        continue;
                if ((unsigned) fds[i] > from)
                        (void) syscall(SYS_close_range, from, (unsigned) fds[i] - 1, 0U);
                from = (unsigned) fds[i] + 1;
        }
        (void) syscall(SYS_close_range, from, ~0U, 0U);
        (void) prctl(PR_SET_NAME, "corral-init", 0, 0, 0);
}

_noreturn_ static void serve(pid_t main_pid, int errfd) {
        uint64_t all = ~UINT64_C(0);
        int main_status = 0;

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
        /* First, so that there is no moment without capabilities and still dumpable. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return errno;
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
        return 0;
}

/* pid 2, on the stack clone_vm_start gave it, in pid 1's memory until it execs. */
typedef struct pid2_start {
        uint64_t mask;
        int (*fn)(void *arg);
        void *arg;
        uint32_t dropped; /* pid 1 has given up its privileges: futex word */
} pid2_start;

static int pid2_run(void *arg) {
        pid2_start *s = arg;
        /* Nothing of the run may run beside an init with more than the run: wait for pid 1
         * to drop its privileges before the set-up goes on to exec the program. */
        while (!__atomic_load_n(&s->dropped, __ATOMIC_ACQUIRE))
                (void) syscall(SYS_futex, &s->dropped, FUTEX_WAIT, 0, NULL, NULL, 0);
        if (raw_sigmask(SIG_SETMASK, &s->mask, NULL) < 0)
                return 127;
        return s->fn(s->arg);
}

int init_start(int errfd, const spawn_credentials *creds, bool userns, int (*pid2_fn)(void *arg), void *pid2_arg) {
        uint64_t all = ~UINT64_C(0), old = 0;
        long pid;
        int err;

        if (getpid() != 1)
                return ENOTSUP; /* not cloned into a new pid namespace (an old kernel's fork fallback) */
        /* Block everything first, so that no signal slips between the fork and the wait. */
        if (raw_sigmask(SIG_SETMASK, &all, &old) < 0)
                return errno;
        /* pid 2 runs on in our memory until its exec (clone-vm.c): no copy of corral's page
         * tables for a process that only execs. s stays valid: this frame never returns. */
        pid2_start s = { .mask = old, .fn = pid2_fn, .arg = pid2_arg };
        /* the kernel zeroes it and wakes us when pid 2 execs or dies (its mm_release) */
        uint32_t in_our_mm = 1;
        bool shared = false;
        struct clone_args args = { .flags = CLONE_CHILD_CLEARTID, .child_tid = (uintptr_t) &in_our_mm,
                                   .exit_signal = SIGCHLD };
        /* the kernel reads clone3's first version (64 bytes): all this needs */
        pid = pid2_fn ? clone_vm_start(&args, CLONE_ARGS_SIZE_VER0, pid2_run, &s) : -ENOSYS;
        /* Without shared memory (a fork), the same two waits go through a socket pair:
         * pid 1 sends a byte once it has dropped its privileges, and reads EOF once pid 2
         * has closed its end, which is close-on-exec. */
        int sv[2] = { -1, -1 };
        if (pid == -ENOSYS) {
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                        return errno;
                pid = syscall(SYS_clone, (unsigned long) SIGCHLD, 0UL, 0UL, 0UL, 0UL);
                if (pid < 0) {
                        err = errno;
                        (void) close(sv[0]);
                        (void) close(sv[1]);
                        return err;
                }
                if (pid == 0) {
                        char b;
                        (void) close(sv[0]);
                        ssize_t n;
                        while ((n = read(sv[1], &b, 1)) < 0 && errno == EINTR)
                                ;
                        if (n != 1)
                                syscall(SYS_exit_group, 127); /* pid 1 is gone */
                        /* pid 2: the rest of the plan, then the program, with the mask it had. */
                        if (raw_sigmask(SIG_SETMASK, &old, NULL) < 0)
                                return errno;
                        return 0;
                }
                (void) close(sv[1]);
        } else if (pid < 0)
                return (int) -pid;
        else
                shared = true;
        err = drop_privileges(creds, userns);
        if (err) {
                /* pid 2 must not run under an init that kept privilege: end both */
                spawn_failure f = { SPAWN_STEP_PIDNS_INIT, err, 0 };
                (void) kill((pid_t) pid, SIGKILL);
                ssize_t _unused_ n = write(errfd, &f, sizeof f);
                _exit(127);
        }
        serve_prepare(errfd, sv[0]); /* before pid 2 goes on: the program sees the init it will have */
        if (shared) {
                __atomic_store_n(&s.dropped, 1, __ATOMIC_RELEASE);
                (void) syscall(SYS_futex, &s.dropped, FUTEX_WAKE, 1, NULL, NULL, 0);
                /* pid 2 runs in our memory now: we touch nothing until it has left it. The
                 * kernel's wake is a shared futex's (no FUTEX_PRIVATE_FLAG). */
                uint32_t v;
                while ((v = __atomic_load_n(&in_our_mm, __ATOMIC_ACQUIRE)) != 0)
                        (void) syscall(SYS_futex, &in_our_mm, FUTEX_WAIT, v, NULL, NULL, 0);
        } else {
                char b = 0;
                if (send(sv[0], &b, 1, MSG_NOSIGNAL) == 1) /* else pid 2 is gone */
                        while (read(sv[0], &b, 1) < 0 && errno == EINTR)
                                ;
                (void) close(sv[0]);
        }
        serve((pid_t) pid, errfd);
}
