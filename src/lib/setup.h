/* SPDX-License-Identifier: MIT */
/*
 * The child's set-up between clone and exec, as a plan: an ordered list of steps the
 * parent prepares (setup_plan_build, may allocate nothing the child needs to free) and
 * the child executes (setup_run, async-signal-safe, no allocation). The order and the
 * reasons for it are written once, at the top of setup.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Every step, and the non-step failures a spawn_failure can name. The value goes over
 * the report pipe and the forkserver's socket: append, never renumber. */
typedef enum spawn_step {
        SPAWN_STEP_CGROUP,
        SPAWN_STEP_SESSION,
        SPAWN_STEP_SIGNALS,
        SPAWN_STEP_RLIMIT,
        SPAWN_STEP_STDIO,
        SPAWN_STEP_FDS,
        SPAWN_STEP_EXEC,
        SPAWN_STEP_FN,
        SPAWN_STEP_FORKSERVER, /* not a step: the forkserver could not be reached or refused */
        SPAWN_STEP_FDS_KEEP,   /* function mode: close all but 0-2, the kept fds and the report pipe */
        SPAWN_STEP_PDEATHSIG,
        SPAWN_STEP_NAMESPACES,
        SPAWN_STEP_MOUNTS,
        SPAWN_STEP_NO_NEW_PRIVS,
        SPAWN_STEP_SECCOMP,
        SPAWN_STEP_PIDNS_INIT,
        SPAWN_STEP_PIDNS_EXIT, /* not a failure: pid 1 reports pid 2's wait status (detail) */
        SPAWN_STEP_CREDENTIALS, /* setgroups, setresgid, setresuid */
        SPAWN_STEP_CHDIR,       /* the run's working directory */
        SPAWN_STEP_USERNS,      /* the unprivileged path: the user namespace's uid/gid maps */
        SPAWN_STEP_LOOPBACK,    /* the unprivileged path: lo up in the run's own netns */
        SPAWN_STEP_FN_PREPARE,  /* function mode: what the child does before its filter (crash handler) */
        _SPAWN_STEP_MAX,
} spawn_step;

/* One step and what it needs, all of it prepared by the parent. */
typedef struct setup_op {
        spawn_step step;
        int fd[3];       /* step-specific fds (cgroup dirfd, stdio sources, kept fds) */
        const void *ptr; /* step-specific data that lives until exec (the rl_set, the request) */
} setup_op;

#define SETUP_MAX_OPS 20

typedef struct setup_plan {
        size_t n;
        bool fn; /* function mode: the plan ends in the function, not exec */
        setup_op op[SETUP_MAX_OPS];
} setup_plan;

/*
 * Function mode: where the plan puts the child's kept fds before the function runs (the
 * output and crash pipes, the report pipe), and where the seccomp listener is born. A
 * function's syscall filter lets the result channel's calls through on exactly these
 * fds (filter.c); fd 3 is the socket the listener leaves on (FILTER_NOTIFY_SEND_FD).
 */
#define SETUP_FN_OUT_FD 4
#define SETUP_FN_CRASH_FD 5
#define SETUP_FN_REPORT_FD 6
#define SETUP_FN_LISTENER_FD 7

struct spawn_request;

/* In the parent, before clone: the steps req asks for, in the documented order. */
void setup_plan_build(const struct spawn_request *req, setup_plan *ret);

/* In the child: run the plan. joined: clone already put us into the run group. A step
 * that fails writes (step, errno, detail) to errfd and _exits 127; exec closes errfd
 * (CLOEXEC), so EOF tells the parent that every step worked. Never returns. */
__attribute__((noreturn)) void setup_run(const setup_plan *plan, int errfd, bool joined);

/* "joining the run's cgroup", "setrlimit", ...: what a spawn_failure's step was. */
const char *setup_step_name(int step);
