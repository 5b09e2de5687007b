/* SPDX-License-Identifier: MIT */
/*
 * Theory of operation. The parent resolves the executable first (no fork for a
 * command that is not there), opens a CLOEXEC pipe, and calls clone3() with
 * CLONE_PIDFD | CLONE_INTO_CGROUP, so the child is counted in its run group from its
 * first instruction, and with exit_signal 0, so no SIGCHLD reaches the embedding
 * program and its waitpid(-1) cannot steal our child (we reap with waitid(P_PIDFD,
 * __WALL)). A command whose set-up has no namespace steps, started by a small caller
 * (the CLI), is cloned with CLONE_VM | CLONE_VFORK as well (clone-vm.c): nothing of ours
 * is copied and we sleep until it execs, which is what a CLI run of a short program
 * spends most on besides the two execs. Where clone3 is refused (Docker's default seccomp profile says ENOSYS)
 * we fall back to clone(CLONE_PIDFD) and the child writes itself into cgroup.procs;
 * where that fails too, to fork() + pidfd_open(). Functions (corral_run_fn) always use
 * glibc's fork(), because they run arbitrary code that needs glibc's fork handlers; the
 * child joins its group by writing cgroup.procs, keeps 0-2 and the two fds fn.c asks
 * for (output and crash pipes), and runs the function instead of exec. The forkserver
 * calls this same code in its helper process.
 *
 * The child, between clone and exec, runs the set-up plan built here before clone
 * (setup.c, where the steps and their order are written down). Any failure is written
 * as (step, errno) to the pipe and the child _exits; exec closes the pipe, so EOF
 * means success.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "clone-vm.h"
#include "macro.h"
#include "setup.h"
#include "isolation.h"
#include "spawn.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* clone3 is told of struct clone_args as of Linux 5.7 (up to cgroup: CLONE_INTO_CGROUP) */
_Static_assert(sizeof(struct clone_args) == CLONE_ARGS_SIZE_VER2, "struct clone_args is not 5.7's");

int spawn_resolve(const char *name, char **ret_path) {
        return spawn_resolve_in(name, NULL, ret_path);
}

int spawn_resolve_in(const char *name, const char *search_path, char **ret_path) {
        struct stat st;
        char *p;

        if (!name || !*name)
                return -ENOENT;
        if (strchr(name, '/')) {
                if (stat(name, &st) < 0)
                        return negative_errno();
                if (S_ISDIR(st.st_mode) || access(name, X_OK) < 0)
                        return -EACCES;
                p = strdup(name);
                if (!p)
                        return -ENOMEM;
                *ret_path = p;
                return 0;
        }
        const char *path = search_path ? search_path : getenv("PATH");
        if (!path || !*path)
                path = "/usr/local/bin:/usr/bin:/bin";
        int r = -ENOENT;
        for (const char *dir = path;; ) {
                size_t len = strcspn(dir, ":");
                char buf[4096];
                if ((size_t) snprintf(buf, sizeof buf, "%.*s/%s", (int) (len ? len : 1), len ? dir : ".",
                                      name) < sizeof buf && stat(buf, &st) >= 0 && !S_ISDIR(st.st_mode)) {
                        if (access(buf, X_OK) >= 0) {
                                p = strdup(buf);
                                if (!p)
                                        return -ENOMEM;
                                *ret_path = p;
                                return 0;
                        }
                        r = -EACCES; /* like execvp: remember, keep looking */
                }
                if (!dir[len])
                        break;
                dir += len + 1;
        }
        return r;
}

/* Namespaces that only clone can make (a new pid namespace: the child is its pid 1). */
static unsigned long spawn_ns_flags(const spawn_request *req) {
        return req->iso && req->iso->ns ? (unsigned long) req->iso->ns->clone_flags : 0UL;
}

typedef struct vm_child {
        const setup_plan *plan;
        int pipefd[2];
        bool joined;
} vm_child;

static int vm_child_run(void *arg) {
        const vm_child *c = arg;
        close(c->pipefd[0]);
        setup_run(c->plan, c->pipefd[1], c->joined);
}

/* clone3's arguments for a command: a pidfd into *pidfd, no exit signal, straight into
 * the run group when there is one, and the namespaces only clone can make. */
static struct clone_args command_clone_args(const spawn_request *req, int *pidfd) {
        struct clone_args args = {
                .flags = CLONE_PIDFD | spawn_ns_flags(req),
                .pidfd = (uintptr_t) pidfd,
                .exit_signal = 0,
        };
        if (req->cgroup_fd >= 0) {
                args.flags |= CLONE_INTO_CGROUP;
                args.cgroup = (uint64_t) req->cgroup_fd;
        }
        return args;
}

/*
 * The kernel adds the memory a process execs from to its ru_maxrss (exec_mmap records the
 * old mm's high-water mark), and that is one of the two sources of memory_peak_bytes on
 * the fallback rungs. A child sharing our memory would report our high-water mark: fine
 * for a small supervisor (the CLI's is ~2 MiB, a fork's copy ~1 MiB), not for a library
 * caller such as a Python interpreter, whose tens of MiB would turn a failing command
 * into a memory_limit. Bigger callers fork.
 */
#define VM_CLONE_MAX_HIWATER_KIB (4 * 1024)

static bool small_enough_to_share(void) {
        struct rusage ru;
        return getrusage(RUSAGE_SELF, &ru) == 0 && ru.ru_maxrss <= VM_CLONE_MAX_HIWATER_KIB;
}

/*
 * A command whose set-up never waits for us starts like posix_spawn would: sharing our
 * memory, our thread asleep until it execs (clone-vm.c says what that saves). Not for a
 * pid namespace (its pid 1 stays behind as init, we would sleep until the run ends),
 * other namespaces (their steps are long and were only ever tested in a copy of us),
 * functions (they run on instead of exec), or a big caller (above). 0 when not applicable
 * or refused: clone as before.
 */
static int clone3_vm_into(const spawn_request *req, const setup_plan *plan, int pipefd[2], int *ret_pidfd,
                          bool *ret_joined) {
        if (req->fn || (req->iso && req->iso->ns) || !small_enough_to_share())
                return 0;
        int pidfd = -1;
        struct clone_args args = command_clone_args(req, &pidfd);
        vm_child c = { .plan = plan, .pipefd = { pipefd[0], pipefd[1] }, .joined = req->cgroup_fd >= 0 };
        int pid = clone_vm_run(&args, sizeof args, vm_child_run, &c);
        if (pid <= 0)
                return 0;
        *ret_pidfd = pidfd;
        *ret_joined = c.joined;
        return pid;
}

static int clone3_into(const spawn_request *req, int *ret_pidfd, bool *ret_joined) {
        int pidfd = -1;
        struct clone_args args = command_clone_args(req, &pidfd);
        long pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid < 0)
                return negative_errno();
        if (pid > 0)
                *ret_pidfd = pidfd;
        *ret_joined = req->cgroup_fd >= 0;
        return (int) pid;
}

/*
 * Where the child joins its group itself (fork, or clone without CLONE_INTO_CGROUP), a stop
 * that comes before that join finds the group empty: cgroup.kill kills nothing and the run
 * never ends. So the parent moves it too, before anyone can act on the job; whichever
 * write comes second finds the child there already. Errors are the child's to report.
 */
static void spawn_move_into_group(int cgroup_fd, pid_t pid) {
        char buf[24];
        int fd = openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        int n = snprintf(buf, sizeof buf, "%d", (int) pid);
        ssize_t _unused_ w = write(fd, buf, (size_t) n);
        safe_close(fd);
}

int spawn_start(const spawn_request *req, pid_t *ret_pid, int *ret_pidfd, spawn_failure *ret_failure) {
        int pipefd[2], pidfd = -1;
        bool joined = false;
        setup_plan plan;
        long pid;

        /* Everything the child will do, prepared here: the child only runs it. */
        setup_plan_build(req, &plan);
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();

        if (req->fn) {
                pid = fork();
                if (pid == 0) {
                        /* the error pipe closes after the set-up, with the other fds */
                        close(pipefd[0]);
                        setup_run(&plan, pipefd[1], false);
                }
        } else if ((pid = clone3_vm_into(req, &plan, pipefd, &pidfd, &joined)) > 0) {
                /* started, and already past its exec or its set-up's failure */
        } else {
                pid = clone3_into(req, &pidfd, &joined);
                if (pid == -ENOSYS || pid == -EPERM || pid == -E2BIG || pid == -EINVAL) {
                        /* Before 5.7, or clone3 refused by a seccomp profile. */
                        joined = false;
                        pid = syscall(SYS_clone, (unsigned long) CLONE_PIDFD | spawn_ns_flags(req), 0UL, &pidfd,
                                      0UL, 0UL);
                        if (pid < 0 && (errno == EINVAL || errno == ENOSYS)) {
                                pidfd = -1;
                                pid = fork();
                        } else if (pid < 0)
                                pid = negative_errno();
                }
                if (pid == 0) {
                        close(pipefd[0]);
                        setup_run(&plan, pipefd[1], joined);
                }
        }
        if (pid < 0) {
                int r = pid == -1 ? negative_errno() : (int) pid;
                safe_close(pipefd[0]);
                safe_close(pipefd[1]);
                return r;
        }
        safe_close(pipefd[1]);
        if (!joined && req->cgroup_fd >= 0)
                spawn_move_into_group(req->cgroup_fd, (pid_t) pid);
        if (pidfd < 0) {
                pidfd = (int) syscall(SYS_pidfd_open, (pid_t) pid, 0);
                if (pidfd < 0) {
                        int r = negative_errno();
                        /* Without a pidfd we cannot watch it: do not leave it running. */
                        kill((pid_t) pid, SIGKILL);
                        (void) waitpid((pid_t) pid, NULL, __WALL);
                        safe_close(pipefd[0]);
                        return r;
                }
        }

        if (req->ret_report_fd) {
                /* The caller watches the pipe: concurrent spawns do not wait for each exec. */
                (void) fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
                *req->ret_report_fd = pipefd[0];
                *ret_pid = (pid_t) pid;
                *ret_pidfd = pidfd;
                return 1;
        }

        spawn_failure f;
        ssize_t n;
        do
                n = read(pipefd[0], &f, sizeof f);
        while (n < 0 && errno == EINTR);
        safe_close(pipefd[0]);
        if (n == (ssize_t) sizeof f) {
                siginfo_t info;
                (void) spawn_wait_pidfd(pidfd, &info, NULL, WEXITED);
                safe_close(pidfd);
                *ret_failure = f;
                return 0;
        }
        *ret_pid = (pid_t) pid;
        *ret_pidfd = pidfd;
        return 1;
}

int spawn_read_report(int fd, spawn_failure *ret_failure) {
        spawn_failure f;
        ssize_t n;
        do
                n = read(fd, &f, sizeof f);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EAGAIN ? -EAGAIN : negative_errno();
        if (n == (ssize_t) sizeof f) {
                *ret_failure = f;
                return 1;
        }
        return 0; /* EOF, or a torn report from a child that died mid-write */
}

/* PIDFD_GET_INFO's struct as of Linux 6.15 (PIDFD_INFO_EXIT), first 64 bytes */
struct spawn_pidfd_info {
        uint64_t mask, cgroupid;
        uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
        int32_t exit_code;
};
#define SPAWN_PIDFD_INFO_EXIT (1UL << 3)
#define SPAWN_PIDFD_GET_INFO _IOWR(0xFF, 11, struct spawn_pidfd_info)

/*
 * Someone else in this process reaped our child (SIGCHLD set to SIG_IGN auto-reaps, or
 * a waitpid(-1) elsewhere: exec resets the exit_signal we chose to SIGCHLD). Since
 * 6.15 the pidfd keeps the wait status for us.
 */
static int exit_status_from_pidfd(int pidfd, siginfo_t *ret_info) {
        struct spawn_pidfd_info pi = { .mask = SPAWN_PIDFD_INFO_EXIT };
        if (ioctl(pidfd, SPAWN_PIDFD_GET_INFO, &pi) < 0)
                return negative_errno();
        if (!(pi.mask & SPAWN_PIDFD_INFO_EXIT))
                return -ECHILD;
        memset(ret_info, 0, sizeof *ret_info);
        /* Callers read si_pid == 0 as "not exited yet"; a reaped pid may read back as 0. */
        ret_info->si_pid = pi.pid ? (pid_t) pi.pid : -1;
        ret_info->si_signo = SIGCHLD;
        if (WIFEXITED(pi.exit_code)) {
                ret_info->si_code = CLD_EXITED;
                ret_info->si_status = WEXITSTATUS(pi.exit_code);
        } else {
                ret_info->si_code = WCOREDUMP(pi.exit_code) ? CLD_DUMPED : CLD_KILLED;
                ret_info->si_status = WTERMSIG(pi.exit_code);
        }
        return 0;
}

int spawn_wait_pidfd(int pidfd, siginfo_t *ret_info, struct rusage *ret_usage, int flags) {
        memset(ret_info, 0, sizeof *ret_info);
        for (;;) {
                long r = syscall(SYS_waitid, P_PIDFD, pidfd, ret_info, flags | __WALL, ret_usage);
                if (r >= 0)
                        return 0;
                if (errno == EINTR)
                        continue;
                if (errno != ECHILD)
                        return negative_errno();
                if (exit_status_from_pidfd(pidfd, ret_info) < 0)
                        return -ECHILD;
                if (ret_usage)
                        memset(ret_usage, 0, sizeof *ret_usage);
                return 1;
        }
}

void spawn_failure_describe(const spawn_failure *f, char *buf, size_t size) {
        if (f->step == SPAWN_STEP_FORKSERVER && f->err == ENOTCONN) {
                snprintf(buf, size, "StartMethod=forkserver, but corral_forkserver_start() was not called");
                return;
        }
        if (f->step == SPAWN_STEP_FORKSERVER && f->err == EFAULT) {
                snprintf(buf, size, "forkserver: the function is not in the forkserver's copy of the program "
                                    "(in a library loaded after corral_forkserver_start()?)");
                return;
        }
        snprintf(buf, size, "%s: %s", setup_step_name(f->step), strerror(f->err));
}
