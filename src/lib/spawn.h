/* SPDX-License-Identifier: MIT */
/*
 * Starting a run's first process: straight into its cgroup, with a pidfd, in its own
 * session, with default signals, only fds 0-2, and its rlimits; then exec (or, for
 * corral_run_fn, a function).
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "rlimit.h"
#include "setup.h"

typedef struct spawn_failure {
        int step; /* spawn_step (setup.h) */
        int err;  /* errno in the child */
        int detail; /* e.g. the rlimit resource */
} spawn_failure;

/* Who the run is (corral_spawn_attr_set_credentials). */
typedef struct spawn_credentials {
        uid_t uid;
        gid_t gid;
        const gid_t *groups;
        size_t n_groups;
} spawn_credentials;

/* Where the run starts: fchdir(fd) when fd >= 0, else chdir(path). */
typedef struct spawn_cwd {
        int fd;
        const char *path;
} spawn_cwd;

typedef struct spawn_request {
        const char *path;     /* resolved executable */
        char *const *argv;
        char *const *envp;
        int cgroup_fd;        /* run group to start in, or -EBADF */
        const rl_set *rlimits;
        int stdio[3];         /* fds to become 0, 1, 2 in the child; -1 keeps ours */
        const spawn_credentials *credentials; /* NULL: ours */
        const spawn_cwd *cwd;                 /* NULL: ours */
        int keep_fds[2];      /* fds the child keeps besides 0-2 (functions' output and crash
                               * pipes), or -1; function mode only */
        /* Function mode: the child runs fn(arg) after its set-up and _exits with its value;
         * fn_prepare(arg) (or NULL) runs before the syscall filter is loaded. */
        int (*fn)(void *arg);
        int (*fn_prepare)(void *arg);
        void *fn_arg;
        /* Isolation steps (isolation.h): namespaces, no_new_privs, seccomp; NULL: none. */
        const struct iso_child *iso;
        /* Do not wait for exec: hand back the report pipe (non-blocking) instead. EOF on it
         * means exec succeeded; a spawn_failure means it did not (the child then exits 127). */
        int *ret_report_fd;
} spawn_request;

/*
 * Find an executable like execvp would: with a '/' as is, else in $PATH.
 * -ENOENT not found, -EACCES found but not executable.
 */
int spawn_resolve(const char *name, char **ret_path);
/* The same in search_path ("dir:dir"; NULL: $PATH, else /usr/local/bin:/usr/bin:/bin). */
int spawn_resolve_in(const char *name, const char *search_path, char **ret_path);

/*
 * Start the child. Returns 1 with pid and pidfd when it got as far as exec (or its
 * function), 0 when its set-up failed (*ret_failure says where; the child is reaped),
 * -errno when the parent could not start it. With req->ret_report_fd it returns 1 right
 * after clone and the caller reads the report later (spawn_read_report).
 */
int spawn_start(const spawn_request *req, pid_t *ret_pid, int *ret_pidfd, spawn_failure *ret_failure);

/* Read the report pipe: 1 and *ret_failure if set-up or exec failed, 0 on EOF (exec
 * succeeded), -EAGAIN if nothing yet. */
int spawn_read_report(int fd, spawn_failure *ret_failure);

/* A one-line description of a child failure: "exec: Permission denied". */
void spawn_failure_describe(const spawn_failure *f, char *buf, size_t size);

/*
 * Raw waitid that also returns rusage (glibc's wrapper drops it). When another reaper
 * in this process took the child, the status comes from the pidfd (Linux >= 6.15) and
 * it returns 1 with the rusage zeroed; before 6.15 that is -ECHILD: the status is lost.
 */
int spawn_wait_pidfd(int pidfd, siginfo_t *ret_info, struct rusage *ret_usage, int flags);
