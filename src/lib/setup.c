/* SPDX-License-Identifier: MIT */
/*
 * The child's set-up between clone and exec: a plan built in the parent and run in the
 * child. The child is a copy of a possibly multi-threaded process: it may only make
 * async-signal-safe system calls, never allocate, never take a lock. Each step returns
 * 0 or an errno; the first failure is written as (step, errno, detail) to the CLOEXEC
 * report pipe and the child _exits 127, so the parent names the step that failed.
 *
 * THE ORDER, and why (setup_plan_build() below builds exactly this; bracketed steps are
 * in the plan only when the request asks for them):
 *
 *   1. cgroup       [a run group; clone3 could not start us in it] join it first:
 *                   everything after, and every descendant, is accounted and killable.
 *   2. session      setsid: the run's own session and process group; the rlimit rung
 *                   finds escaped members by session id.
 *   3. signals      default dispositions, empty mask: the supervisor may ignore or block
 *                   signals (signalfd), the run must not inherit that.
 *   4. pdeathsig    [isolation] PR_SET_PDEATHSIG after the signal reset (its signal must
 *                   have its default action), then getppid() against the parent's pid for
 *                   a parent that already died.
 *   5. userns       [namespaces, unprivileged caller] clone made the child a user namespace
 *                   of its own (CLONE_NEWUSER: every capability in it until exec; a
 *                   function's fork() child unshares it here, single-threaded): write
 *                   setgroups "deny", then uid_map and gid_map mapping the caller's ids
 *                   to themselves, before anything creates files or namespaces in it.
 *   6. namespaces   [isolation: namespaces] unshare() of mount/ipc/net, or setns() into
 *                   the netns prepared in the parent (net.c brought its loopback up
 *                   there): before anything that must happen inside them.
 *   6a. loopback    [PrivateNetwork=, unprivileged] the child made its netns itself: lo up
 *                   (one ioctl, net.c), while it still has CAP_NET_ADMIN there.
 *   7. mounts       [namespaces with mounts] private propagation, then the policy's
 *                   mounts: needs the mount namespace and still all privileges.
 *   8. pidns init   [PrivatePIDs=] after the mounts (pid 1 mounted the namespace's /proc):
 *                   pid 1 stays behind as corral's init, pid 2 goes on from here.
 *   9. rlimits      [a plan] setrlimit: before the credentials drop (raising a hard limit
 *                   needs CAP_SYS_RESOURCE).
 *  10. credentials  [corrald's client, User=, DynamicUser=] setgroups, setresgid,
 *                   setresuid, in that order (groups need CAP_SETGID, which setresuid
 *                   drops); after mounts and network, which need privilege.
 *  11. chdir        [a cwd] after credentials, so the directory is checked with the run's
 *                   own rights (systemd does the same for WorkingDirectory=).
 *  12. pdeathsig    [credentials and isolation] again: a uid change clears it.
 *  13. stdio        dup2 the run's stdin/stdout/stderr onto 0-2.
 *  14. fds          everything above 2 close-on-exec (close_range, 5.11); function mode
 *                   moves the kept fds (output and crash pipes), the report pipe and the
 *                   listener's socket to fixed numbers (SETUP_FN_*_FD, setup.h) and
 *                   closes everything else: the function's filter names those numbers.
 *  15. fn prepare   [function mode] the crash handler and the process name: calls the
 *                   function's filter may deny (sigaltstack, sigaction, prctl).
 *  16. seccomp      [SystemCallFilter=] LAST before exec (or the function): no_new_privs
 *                   first (loading a filter without CAP_SYS_ADMIN requires it, and it
 *                   comes after the credentials change, which a filter could refuse), then
 *                   the filter, whose BPF was compiled in the parent (filter.c); the
 *                   set-up's own calls are never filtered and the program runs under it
 *                   from its first instruction. Without a filter, [NoNewPrivileges=] sets
 *                   only no_new_privs here. In function mode the holes in 0-2 are filled
 *                   first (an O_PATH fd on "/", which reads and writes like a closed fd),
 *                   so that the listener is born on SETUP_FN_LISTENER_FD, the one fd the
 *                   filter lets the child close after handing it out.
 *  17. exec         execve; or, in function mode, close the report pipe (EOF: set-up done)
 *                   and run the function. Function runs have the same isolation steps as
 *                   commands but PrivatePIDs= (refused: isolation.c says why).
 *
 * Adding a step: a SPAWN_STEP_ value (append: the value crosses a pipe), a row in
 * steps[] with its name and function, and one line in setup_plan_build() at its slot,
 * with what it needs (fds, a pointer to data prepared in the parent) in its setup_op.
 */
#include <fcntl.h>
#include <sched.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "filter.h"
#include "init.h"
#include "isolation.h"
#include "macro.h"
#include "namespace.h"
#include "net.h"
#include "rlimit.h"
#include "setup.h"
#include "spawn.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

typedef struct setup_child {
        int errfd;   /* the report pipe's write end */
        bool joined; /* clone put us into the run group */
        bool fn;     /* function mode (the plan's) */
        int detail;  /* written by a failing step: which rlimit, which fd */
        const setup_plan *plan;
        size_t next; /* the step after the one running */
} setup_child;

static _noreturn_ void run_steps(setup_child *c);

/* pid 2 of a pid namespace, when it starts on a stack of its own: the rest of the plan. */
static int pid2_continue(void *arg) {
        setup_child c = *(const setup_child *) arg; /* pid 1's copy stays as it was */
        run_steps(&c);
}

static int step_cgroup(const setup_op *op, setup_child *c) {
        if (c->joined)
                return 0;
        int fd = openat(op->fd[0], "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1)
                return errno;
        close(fd);
        return 0;
}

static int step_session(const setup_op *op, setup_child *c) {
        return setsid() < 0 ? errno : 0;
}

static int step_signals(const setup_op *op, setup_child *c) {
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &dfl, NULL);
        uint64_t empty = 0;
        if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof empty) < 0)
                return errno;
        return 0;
}

static int step_rlimit(const setup_op *op, setup_child *c) {
        const rl_set *set = op->ptr;
        int err, i = rl_apply(set, &err);
        if (i < 0)
                return 0;
        c->detail = set->v[i].resource;
        return err;
}

static int step_credentials(const setup_op *op, setup_child *c) {
        const spawn_credentials *cr = op->ptr;
        /* raw syscalls: glibc's setgroups/setresuid broadcast to threads the child does not have */
        if (syscall(SYS_setgroups, cr->n_groups, cr->groups) < 0)
                return errno;
        if (syscall(SYS_setresgid, cr->gid, cr->gid, cr->gid) < 0)
                return errno;
        if (syscall(SYS_setresuid, cr->uid, cr->uid, cr->uid) < 0)
                return errno;
        return 0;
}

static int step_chdir(const setup_op *op, setup_child *c) {
        const spawn_cwd *cwd = op->ptr;
        if (cwd->fd >= 0 ? fchdir(cwd->fd) < 0 : chdir(cwd->path) < 0)
                return errno;
        return 0;
}

static int step_stdio(const setup_op *op, setup_child *c) {
        for (int i = 0; i < 3; i++)
                if (op->fd[i] >= 0 && op->fd[i] != i) {
                        if (dup2(op->fd[i], i) < 0) {
                                c->detail = i;
                                return errno;
                        }
                } else if (op->fd[i] == i) {
                        int flags = fcntl(i, F_GETFD);
                        if (flags >= 0)
                                (void) fcntl(i, F_SETFD, flags & ~FD_CLOEXEC);
                }
        return 0;
}

static int step_fds(const setup_op *op, setup_child *c) {
        /* Only 0-2 survive exec; the report pipe is already CLOEXEC. (5.11) */
        if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return errno;
        return 0;
}

static int step_fds_keep(const setup_op *op, setup_child *c) {
        /* Function mode: 0-2 stay; the output and crash pipes, the report pipe and (under a
         * filter) the listener's socket go to their fixed numbers; everything else closes.
         * Through copies above the targets first: a source may sit on another's target. */
        const iso_child *iso = op->ptr;
        int src[4] = { op->fd[0], op->fd[1], c->errfd, iso && iso->prog ? iso->notify_fd : -1 };
        const int dst[4] = { SETUP_FN_OUT_FD, SETUP_FN_CRASH_FD, SETUP_FN_REPORT_FD, FILTER_NOTIFY_SEND_FD };
        int tmp[4] = { -1, -1, -1, -1 };

        for (int i = 0; i < 4; i++)
                if (src[i] >= 0) {
                        tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, SETUP_FN_LISTENER_FD + 1);
                        if (tmp[i] < 0)
                                return errno;
                }
        c->errfd = tmp[2]; /* a failure from here on still reaches the parent */
        for (int i = 0; i < 4; i++) {
                if (tmp[i] < 0)
                        (void) close(dst[i]);
                else if (dup3(tmp[i], dst[i], O_CLOEXEC) < 0)
                        return errno;
        }
        c->errfd = SETUP_FN_REPORT_FD;
        (void) syscall(SYS_close_range, (unsigned) SETUP_FN_LISTENER_FD, ~0U, 0U);
        return 0;
}

static int step_fn_prepare(const setup_op *op, setup_child *c) {
        const spawn_request *req = op->ptr;
        int r = req->fn_prepare(req->fn_arg);
        return r < 0 ? -r : 0;
}

static int step_exec(const setup_op *op, setup_child *c) {
        const spawn_request *req = op->ptr;
        execve(req->path, req->argv, req->envp);
        return errno;
}

static int step_fn(const setup_op *op, setup_child *c) {
        const spawn_request *req = op->ptr;
        /* EOF on the report pipe tells the parent the set-up succeeded. */
        close(c->errfd);
        /* The raw exit_group, not _exit(): a sanitizer's _exit() interceptor runs its leak
         * check (threads, ptrace) in here, under the function's filter. */
        int code = req->fn(req->fn_arg);
        syscall(SYS_exit_group, code);
        _exit(code);
}

static int step_pdeathsig(const setup_op *op, setup_child *c) {
        const iso_child *iso = op->ptr;
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return errno;
        /* The parent may have died before the prctl: then nobody would send it. (In a new
         * pid namespace the parent is outside it and getppid() says 0.) */
        if (getppid() != iso->parent_pid && !(iso->ns && (iso->ns->clone_flags & CLONE_NEWPID)))
                return ESRCH;
        return 0;
}

static int step_pidns_init(const setup_op *op, setup_child *c) {
        const spawn_request *req = op->ptr;
        /* a function (refused with PrivatePIDs= today) would run on pid 2's small stack */
        return init_start(c->errfd, req->credentials, req->iso->ns->userns, c->fn ? NULL : pid2_continue, c);
}

static int step_userns(const setup_op *op, setup_child *c) {
        const iso_child *iso = op->ptr;
        /* a function's fork() could not take CLONE_NEWUSER: it makes its own here */
        if (c->fn && (iso->ns->clone_flags & CLONE_NEWUSER)) {
                int err = ns_child_new_userns();
                if (err)
                        return err;
        }
        return ns_child_userns(iso->ns, &c->detail);
}

static int step_loopback(const setup_op *op, setup_child *c) {
        return net_child_lo_up();
}

static int step_namespaces(const setup_op *op, setup_child *c) {
        const iso_child *iso = op->ptr;
        return ns_child_enter(iso->ns, &c->detail);
}

static int step_mounts(const setup_op *op, setup_child *c) {
        const iso_child *iso = op->ptr;
        return ns_child_mount(iso->ns, &c->detail);
}

static int step_no_new_privs(const setup_op *op, setup_child *c) {
        int r = filter_set_no_new_privs();
        return r < 0 ? -r : 0;
}

static int step_seccomp(const setup_op *op, setup_child *c) {
        const iso_child *iso = op->ptr;
        int r;

        if (c->fn) {
                /* fds_keep put the socket on FILTER_NOTIFY_SEND_FD and 4-6 in place; with 0-2
                 * open the listener is born on SETUP_FN_LISTENER_FD, which the filter lets
                 * us close (the function must not hold its own listener). */
                for (int fd = 0; fd < 3; fd++)
                        if (fcntl(fd, F_GETFD) < 0 && open("/", O_PATH | O_CLOEXEC) != fd)
                                return EBADF;
                r = filter_load_fn(iso->prog);
                return r < 0 ? -r : 0;
        }
        /* The listener goes out on a fixed fd, the one the filter lets sendmsg() use. */
        if (c->errfd == FILTER_NOTIFY_SEND_FD) {
                int fd = fcntl(c->errfd, F_DUPFD_CLOEXEC, FILTER_NOTIFY_SEND_FD + 1);
                if (fd < 0)
                        return errno;
                c->errfd = fd;
        }
        if (iso->notify_fd != FILTER_NOTIFY_SEND_FD &&
            dup3(iso->notify_fd, FILTER_NOTIFY_SEND_FD, O_CLOEXEC) < 0)
                return errno;
        r = filter_load_and_send(iso->prog);
        return r < 0 ? -r : 0;
}

static const struct {
        const char *name;
        int (*run)(const setup_op *op, setup_child *c);
} steps[_SPAWN_STEP_MAX] = {
        [SPAWN_STEP_PDEATHSIG] = { "PR_SET_PDEATHSIG (corral died during the set-up)", step_pdeathsig },
        [SPAWN_STEP_USERNS] = { "writing the user namespace's uid/gid maps", step_userns },
        [SPAWN_STEP_NAMESPACES] = { "entering the namespaces", step_namespaces },
        [SPAWN_STEP_LOOPBACK] = { "bringing lo up in the run's network namespace", step_loopback },
        [SPAWN_STEP_MOUNTS] = { "setting up the mounts", step_mounts },
        [SPAWN_STEP_NO_NEW_PRIVS] = { "no_new_privs", step_no_new_privs },
        [SPAWN_STEP_SECCOMP] = { "loading the syscall filter", step_seccomp },
        [SPAWN_STEP_PIDNS_INIT] = { "starting the pid namespace's init", step_pidns_init },
        [SPAWN_STEP_PIDNS_EXIT] = { "pid namespace", NULL },
        [SPAWN_STEP_CGROUP] = { "joining the run's cgroup", step_cgroup },
        [SPAWN_STEP_SESSION] = { "setsid", step_session },
        [SPAWN_STEP_SIGNALS] = { "resetting the signal mask", step_signals },
        [SPAWN_STEP_RLIMIT] = { "setrlimit", step_rlimit },
        [SPAWN_STEP_CREDENTIALS] = { "changing to the run's user and groups", step_credentials },
        [SPAWN_STEP_CHDIR] = { "entering the working directory", step_chdir },
        [SPAWN_STEP_STDIO] = { "setting up stdio", step_stdio },
        [SPAWN_STEP_FDS] = { "closing inherited fds", step_fds },
        [SPAWN_STEP_FDS_KEEP] = { "closing inherited fds", step_fds_keep },
        [SPAWN_STEP_EXEC] = { "exec", step_exec },
        [SPAWN_STEP_FN] = { "function", step_fn },
        [SPAWN_STEP_FN_PREPARE] = { "preparing the function's process", step_fn_prepare },
        [SPAWN_STEP_FORKSERVER] = { "forkserver", NULL },
};

const char *setup_step_name(int step) {
        if (step < 0 || step >= _SPAWN_STEP_MAX || !steps[step].name)
                return "set-up";
        return steps[step].name;
}

static void add(setup_plan *p, setup_op op) {
        /* SETUP_MAX_OPS is above the number of steps: a plan cannot overflow */
        if (p->n < SETUP_MAX_OPS)
                p->op[p->n++] = op;
}

void setup_plan_build(const spawn_request *req, setup_plan *ret) {
        setup_plan p = { .n = 0 };

        if (req->cgroup_fd >= 0)
                add(&p, (setup_op){ .step = SPAWN_STEP_CGROUP, .fd = { req->cgroup_fd, -1, -1 } });
        add(&p, (setup_op){ .step = SPAWN_STEP_SESSION });
        add(&p, (setup_op){ .step = SPAWN_STEP_SIGNALS });
        if (req->iso) {
                add(&p, (setup_op){ .step = SPAWN_STEP_PDEATHSIG, .ptr = req->iso });
                if (req->iso->ns) {
                        if (req->iso->ns->userns)
                                add(&p, (setup_op){ .step = SPAWN_STEP_USERNS, .ptr = req->iso });
                        add(&p, (setup_op){ .step = SPAWN_STEP_NAMESPACES, .ptr = req->iso });
                        if (req->iso->ns->lo_up)
                                add(&p, (setup_op){ .step = SPAWN_STEP_LOOPBACK });
                        if (req->iso->ns->n_mounts)
                                add(&p, (setup_op){ .step = SPAWN_STEP_MOUNTS, .ptr = req->iso });
                        /* after the mounts (pid 1 mounted the namespace's /proc), before
                         * anything pid 1 should not hold: pid 2 goes on from here */
                        if (req->iso->ns->clone_flags & CLONE_NEWPID)
                                add(&p, (setup_op){ .step = SPAWN_STEP_PIDNS_INIT, .ptr = req });
                }
        }
        if (req->rlimits)
                add(&p, (setup_op){ .step = SPAWN_STEP_RLIMIT, .ptr = req->rlimits });
        if (req->credentials)
                add(&p, (setup_op){ .step = SPAWN_STEP_CREDENTIALS, .ptr = req->credentials });
        if (req->cwd && (req->cwd->fd >= 0 || req->cwd->path))
                add(&p, (setup_op){ .step = SPAWN_STEP_CHDIR, .ptr = req->cwd });
        /* a uid change clears PR_SET_PDEATHSIG: set it again after it */
        if (req->credentials && req->iso)
                add(&p, (setup_op){ .step = SPAWN_STEP_PDEATHSIG, .ptr = req->iso });
        add(&p, (setup_op){ .step = SPAWN_STEP_STDIO, .fd = { req->stdio[0], req->stdio[1], req->stdio[2] } });
        if (req->fn) {
                p.fn = true;
                add(&p, (setup_op){ .step = SPAWN_STEP_FDS_KEEP, .fd = { req->keep_fds[0], req->keep_fds[1], -1 },
                                    .ptr = req->iso });
                if (req->fn_prepare)
                        add(&p, (setup_op){ .step = SPAWN_STEP_FN_PREPARE, .ptr = req });
        } else
                add(&p, (setup_op){ .step = SPAWN_STEP_FDS });
        if (req->iso && req->iso->prog)
                add(&p, (setup_op){ .step = SPAWN_STEP_SECCOMP, .ptr = req->iso });
        else if (req->iso && req->iso->no_new_privs)
                add(&p, (setup_op){ .step = SPAWN_STEP_NO_NEW_PRIVS });
        add(&p, (setup_op){ .step = req->fn ? SPAWN_STEP_FN : SPAWN_STEP_EXEC, .ptr = req });
        *ret = p;
}

static _noreturn_ void fail(const setup_child *c, int step, int err) {
        spawn_failure f = { step, err, c->detail };
        ssize_t _unused_ n = write(c->errfd, &f, sizeof f);
        syscall(SYS_exit_group, 127); /* as in step_fn: no sanitizer's exit under a filter */
        _exit(127);
}

static void run_steps(setup_child *c) {
        while (c->next < c->plan->n) {
                const setup_op *op = &c->plan->op[c->next++];
                c->detail = 0;
                int err = steps[op->step].run(op, c);
                if (err != 0)
                        fail(c, op->step, err);
        }
        /* A plan ends in exec or the function; reaching here is a bug in the plan. */
        fail(c, SPAWN_STEP_EXEC, ENOEXEC);
}

void setup_run(const setup_plan *plan, int errfd, bool joined) {
        setup_child c = { .errfd = errfd, .joined = joined, .fn = plan->fn, .plan = plan, .next = 0 };
        run_steps(&c);
}
