/* SPDX-License-Identifier: MIT */
/*
 * A run in progress: the state the life cycle (job.c, outcome.c), the monitor
 * (monitor.c) and the backends (backend*.c) share. The comment on struct corral_job
 * says which file writes which field.
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

#include "backend.h"
#include "corral.h"
#include "isolation.h"
#include "macro.h"
#include "policy.h"
#include "rlimit.h"
#include "spawn.h"
#include "verdict.h"

#define NEVER UINT64_MAX

typedef enum job_phase {
        JOB_RUNNING,  /* the main process lives; limits armed */
        JOB_DRAINING, /* the main process was reaped; waiting for the group to empty */
        JOB_DONE,     /* the result is final */
} job_phase;

typedef struct capture_stream {
        int fd; /* read end, or -EBADF */
        corral_bytes bytes;
        size_t cap;
} capture_stream;

/*
 * How a job's first process is started and reaped. Commands use spawn.c directly;
 * functions (fn.c) fork the caller or ask a forkserver, which reaps on our behalf.
 */
typedef struct job_starter {
        /* Start the process described by req (its path is NULL for functions): 1 started,
         * 0 its set-up failed (*ret_failure), -errno the parent failed. *ret_pidfd is the
         * fd the monitor waits on: readable once the process ended. It is the pidfd, or
         * for a forkserver's child (not ours to reap) the channel on which the server
         * sends the status after reaping it. The job owns and closes it. */
        int (*start)(void *userdata, const spawn_request *req, pid_t *ret_pid, int *ret_pidfd,
                     spawn_failure *ret_failure);
        /* Collect the exit status once the pidfd is readable; 0 or -EAGAIN if not yet. */
        int (*reap)(void *userdata, int pidfd, siginfo_t *ret_info, struct rusage *ret_usage);
        /* Called once the tree is gone, before the result is final (read output pipes). */
        void (*finish)(void *userdata, corral_result *res);
        /* Called once when the job is freed, whatever happened (NULL: nothing to free). */
        void (*release)(void *userdata);
        void *userdata;
        /* The child runs a function (fn.c): its isolation ends in the function, not exec
         * (a function's filter, no PrivatePIDs=, the forkserver carries it). */
        bool function;
} job_starter;

/* An extra fd in the job's epoll set, with what to do when it is readable. */
typedef struct job_watch {
        int fd;
        void (*on_ready)(void *userdata, int fd);
        void *userdata;
} job_watch;

#define JOB_MAX_WATCHES 6

/*
 * The job. job.c owns it (creates, drives, frees it); the others are called with it.
 * Who writes what:
 *   job.c       policy, ops (once, by the ladder), pid, pidfd, epfd, report_fd, starter,
 *               watches, result (failures), phase JOB_DONE, live links (through live.c)
 *   monitor.c   timerfd, deadlines, action*, killed, info/rusage/exit_usec (reaping),
 *               rss_peak/tasks_peak (samples), capture bytes, phase JOB_DRAINING
 *   outcome.c   result (the finished run's figures and verdict)
 *   backend*.c  be (their per-run state); killed and signals_sent via job_note_kill()
 */
struct corral_job {
        corral_policy policy;
        const backend_ops *ops;  /* the rung, chosen once */
        backend_state be;

        pid_t pid;
        int pidfd;
        int epfd;
        int timerfd;
        int done_fd; /* eventfd that keeps a finished job's fd readable */
        capture_stream capture[2];
        int event_fds[BACKEND_MAX_EVENT_FDS]; /* the backend's, in the epoll set */
        size_t n_event_fds;

        job_phase phase;
        uint64_t start_usec;     /* CLOCK_MONOTONIC, just before clone */
        uint64_t wall_deadline;  /* absolute; NEVER */
        uint64_t cpu_check_at;
        uint64_t sample_at;
        uint64_t kill_at;        /* end of the grace period */
        double cpu_rate;         /* CPUs the tree may use at once, for the CPU watch */

        verdict_action action;
        uint64_t action_usec;
        bool oom_kill_before_action;
        bool killed;             /* SIGKILL already sent to everything */

        int report_fd;           /* the command's exec report, until it says how exec went */
        bool pidns_status_known; /* PrivatePIDs=: the init reported the program's wait status */
        int pidns_status;
        bool exec_failed;
        spawn_failure exec_failure;
        char *name;              /* argv[0], for messages */

        siginfo_t info;          /* how the main process ended */
        bool status_lost;        /* another reaper in this process took it (see spawn_wait_pidfd) */
        struct rusage rusage;
        /* This process's peak RSS once the child started: the most rusage's ru_maxrss can hold
         * of the image the child had before exec (the kernel keeps the old mm's high-water
         * mark at exec; a fork copies the caller's resident pages, a vfork shares its mm). */
        uint64_t caller_maxrss;
        /* A function run: its processes start as copies of the caller (fork) or of the
         * forkserver, so the memory watch counts only the pages they do not share. */
        bool caller_image;
        uint64_t caller_rss; /* StartMethod=fork: the caller's resident memory at the fork */
        uint64_t exit_usec;
        uint64_t rss_peak;       /* sampled tree memory (fallback memory watch) */
        uint64_t tasks_peak;

        job_starter starter;
        job_watch watches[JOB_MAX_WATCHES];
        size_t n_watches;

        iso_state iso;           /* isolation.c: filter, namespaces, the seccomp listener */

        corral_result *result;
        struct corral_job *live_next, *live_prev;
        bool live;

        /* A run through corrald (client.c): the daemon runs it; this job only carries its
         * connection, and the result once it came. Everything above is unused then. */
        struct client_run *remote;
};

static inline uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static inline uint64_t timeval_usec(struct timeval tv) {
        return (uint64_t) tv.tv_sec * USEC_PER_SEC + (uint64_t) tv.tv_usec;
}

/* Record a signal corral sent to the run (SPEC evidence.signals_sent). */
static inline void job_note_signal(corral_job *j, int sig) {
        corral_result *res = j->result;
        if (res->evidence.n_signals_sent >= CORRAL_MAX_SIGNALS_SENT)
                return;
        res->evidence.signals_sent[res->evidence.n_signals_sent++] = (corral_signal_sent){
                .signal = sig,
                .at_s = (double) (now_usec() - j->start_usec) / 1e6,
        };
}

/* Mark the tree killed and record the SIGKILL, once. */
static inline void job_note_kill(corral_job *j) {
        if (j->killed)
                return;
        j->killed = true;
        job_note_signal(j, SIGKILL);
}

/* monitor.c: called by job.c, calls only the backend. */
int monitor_start(corral_job *j);
/* 0 while the run goes on, 1 once the tree is gone and output drained (job.c then
 * finishes the job), -errno. */
int monitor_dispatch(corral_job *j);
void monitor_act(corral_job *j, verdict_action action);
void monitor_kill_everything(corral_job *j);

/* outcome.c: the finished run's result from the backend's accounting and the verdict. */
void outcome_write(corral_job *j);

/* job.c */
/* corral_spawn() for any starter: argv names the run (argv[0] is resolved only when
 * starter is NULL, i.e. for commands). */
int job_spawn_with(const corral_policy *p, char *const argv[], const job_starter *starter,
                   const corral_spawn_attr *attr, corral_job **ret, corral_diag *diag);
int job_spawn(const corral_policy *p, char *const argv[], const job_starter *starter, corral_job **ret,
              corral_diag *diag);
/* Drive a job to its end (blocking); on failure the job is freed. */
int job_wait(corral_job *job, corral_job **ret);
/* Watch fd (owned by the caller) until the run ends; on_ready runs inside dispatch. */
int job_add_watch(corral_job *j, int fd, void (*on_ready)(void *userdata, int fd), void *userdata);
/* Stop watching fd, e.g. at EOF (a pipe whose writers are gone stays readable). Safe
 * from inside its own on_ready. */
void job_remove_watch(corral_job *j, int fd);

