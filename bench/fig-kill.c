/* SPDX-License-Identifier: MIT */
/*
 * Figure 3, kill latency: a run that outlives RuntimeMaxSec, measured from the
 * caller's side: from (the call to corral_spawn + RuntimeMaxSec) to the moment
 * corral_job_dispatch returned 1, i.e. the tree reaped and the verdict ready. This is
 * the lateness a user sees; it includes the part of corral_spawn before the clone,
 * which starts corral's own clock, so it is an upper bound on corral's reaction.
 * The note adds corral's own view: deadline -> SIGKILL sent (evidence.signals_sent,
 * on corral's clock).
 *
 * TimeoutStopSec=0 measures the kill path; one row keeps the default grace, where a
 * sleeping program dies of the SIGTERM. The baseline is a bare supervisor in this
 * process: fork + setpgid + execve, a timerfd at (fork + RuntimeMaxSec) and the pidfd
 * in one epoll set, kill(-pgid, SIGKILL), then waitpid until every member is reaped
 * (this process is their subreaper).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

typedef struct workload {
        const char *name;
        char *argv[6];
        bool grace; /* keep the default TimeoutStopSec */
        unsigned tasks; /* processes at the deadline */
} workload;

static int bare_kill(const bench *b, char *const argv[], double deadline_s, double *ret_latency) {
        pid_t pid;
        int pidfd, st, bad = 0;
        double t_call = now_s();
        if (bare_start(b->work, argv, &pid, &pidfd) < 0)
                return 1;
        double at = t_call + deadline_s;
        int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
        struct itimerspec its = {.it_value = {.tv_sec = (time_t)at,
                                              .tv_nsec = (long)((at - (double)(time_t)at) * 1e9)}};
        timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        int ep = epoll_create1(EPOLL_CLOEXEC);
        epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &(struct epoll_event){.events = EPOLLIN, .data.fd = tfd});
        epoll_ctl(ep, EPOLL_CTL_ADD, pidfd,
                  &(struct epoll_event){.events = EPOLLIN, .data.fd = pidfd});
        for (bool exited = false, killed = false; !exited;) {
                struct epoll_event ev[2];
                int n = epoll_wait(ep, ev, 2, -1);
                for (int i = 0; i < n; i++)
                        if (ev[i].data.fd == tfd) {
                                kill(-pid, SIGKILL);
                                killed = true;
                                epoll_ctl(ep, EPOLL_CTL_DEL, tfd, NULL);
                        } else if (ev[i].data.fd == pidfd)
                                exited = true;
                if (exited && !killed)
                        bad = 1; /* it ended before its deadline */
        }
        if (waitpid(pid, &st, 0) != pid)
                bad = 1;
        /* Everything the tree forked was re-parented to us: reap it all. */
        while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
                ;
        *ret_latency = now_s() - (t_call + deadline_s);
        close(ep);
        close(tfd);
        close(pidfd);
        return bad;
}

/* tasks: how many processes the workload has at its deadline; where corral counts them
 * (pids.peak, cgroup2) a run that had not reached them is not a valid sample. */
static int corral_kill(const corral_policy *p, char *const argv[], unsigned tasks,
                       double deadline_s, double *ret_latency, double *ret_sigkill,
                       int *ret_leaks) {
        corral_job *job;
        corral_diag diag = {};
        double t_call = now_s();
        if (corral_spawn(p, argv, &job, &diag) < 0)
                return 1;
        int r;
        while ((r = corral_job_dispatch(job)) == 0)
                (void)poll(&(struct pollfd){.fd = corral_job_fd(job), .events = POLLIN}, 1, -1);
        double t_done = now_s();
        *ret_latency = t_done - (t_call + deadline_s);
        const corral_result *res = corral_job_result(job);
        int bad = r < 0 || res->status != CORRAL_STATUS_WALL_TIMEOUT ||
                  (res->backend == CORRAL_BACKEND_CGROUP2 && res->pids_peak > 0 &&
                   res->pids_peak < tasks);
        *ret_sigkill = -1;
        for (size_t i = 0; !bad && i < res->evidence.n_signals_sent; i++)
                if (*ret_sigkill < 0) {
                        /* the first signal corral sent: the end of its reaction to the deadline */
                        *ret_sigkill = res->evidence.signals_sent[i].at_s - deadline_s;
                }
        corral_job_free(job);
        /* SPEC: nothing the run started outlives it. This process is the subreaper of
         * whatever escaped, so anything left is one of its children now. */
        if (reap_leftovers() != 0) {
                *ret_leaks += 1;
                bad = 1;
        }
        return bad;
}

void fig_kill(const bench *b) {
        const double dl = b->prof->kill_deadline_s;
        char work[4096];
        snprintf(work, sizeof work, "%s", b->work);
        workload w[] = {
                {"sleeping", {work, "sleep", "60", NULL}, false, 1},
                {"busy (1 thread)", {work, "spin", "1", "60", NULL}, false, 1},
                {"50-process tree", {work, "tree", "50", "60", NULL}, false, 50},
                {"sleeping, default TimeoutStopSec (dies of the SIGTERM)",
                 {work, "sleep", "60", NULL},
                 true,
                 1},
        };
        enum { NW = sizeof w / sizeof *w };
        samples bare[NW] = {}, lat[NW][_CORRAL_BACKEND_MAX] = {}, sig[NW][_CORRAL_BACKEND_MAX] = {};
        int bare_bad[NW] = {}, bad[NW][_CORRAL_BACKEND_MAX] = {},
            leaks[NW][_CORRAL_BACKEND_MAX] = {};
        corral_policy *pol[2][_CORRAL_BACKEND_MAX];
        char rt[64];

        snprintf(rt, sizeof rt, "RuntimeMaxSec=%.0fms", dl * 1e3);
        for (size_t i = 0; i < b->n_backends; i++) {
                pol[0][i] = bench_policy(b->backends[i], rt, "TimeoutStopSec=0", NULL);
                pol[1][i] = bench_policy(b->backends[i], rt, NULL);
        }
        for (int round = -1; round < b->prof->kill_runs; round++)
                for (size_t k = 0; k < NW; k++) {
                        double l = 0, s = 0;
                        int x;
                        if (!w[k].grace) {
                                x = bare_kill(b, w[k].argv, dl, &l);
                                if (round >= 0) {
                                        samples_add(&bare[k], l);
                                        bare_bad[k] += x;
                                }
                        }
                        for (size_t i = 0; i < b->n_backends; i++) {
                                x = corral_kill(pol[w[k].grace][i], w[k].argv, w[k].tasks, dl, &l,
                                                &s, &leaks[k][i]);
                                if (round >= 0) {
                                        samples_add(&lat[k][i], l);
                                        if (!x)
                                                samples_add(&sig[k][i], s);
                                        bad[k][i] += x;
                                }
                        }
                }

        for (size_t k = 0; k < NW; k++) {
                row r;
                if (!w[k].grace) {
                        r = (row){.figure = "3",
                                  .backend = "-",
                                  .unit = UNIT_SECONDS,
                                  .s = &bare[k],
                                  .failed = bare_bad[k]};
                        snprintf(r.measure, sizeof r.measure,
                                 "%s: bare timerfd + kill(-pgid) + waitpid", w[k].name);
                        row_emit(b, &r);
                }
                for (size_t i = 0; i < b->n_backends; i++) {
                        r = (row){
                                .figure = "3",
                                .backend = corral_backend_to_string(b->backends[i]),
                                .unit = UNIT_SECONDS,
                                .s = &lat[k][i],
                                .baseline = w[k].grace ? NULL : "bare",
                                .baseline_median = samples_median(&bare[k]),
                                .target = TARGET_MEDIAN_AT_MOST,
                                .target_value = 1e-3,
                                .absolute = true,
                                .failed = bad[k][i],
                        };
                        snprintf(r.measure, sizeof r.measure, "%s: deadline -> verdict ready%s",
                                 w[k].name, w[k].grace ? "" : ", TimeoutStopSec=0");
                        int n = snprintf(r.note, sizeof r.note,
                                         "RuntimeMaxSec=%.0f ms; corral's clock: deadline -> %s "
                                         "sent %.0f µs (median), %.0f µs (p99)",
                                         dl * 1e3, w[k].grace ? "SIGTERM" : "SIGKILL",
                                         samples_median(&sig[k][i]) * 1e6,
                                         samples_pct(&sig[k][i], 99) * 1e6);
                        if (leaks[k][i] && n > 0 && (size_t)n < sizeof r.note)
                                snprintf(r.note + n, sizeof r.note - (size_t)n,
                                         "; %d run(s) left processes behind after "
                                         "corral_job_free (SPEC: nothing outlives the run)",
                                         leaks[k][i]);
                        row_emit(b, &r);
                        samples_done(&lat[k][i]);
                        samples_done(&sig[k][i]);
                }
                samples_done(&bare[k]);
        }
        for (size_t i = 0; i < b->n_backends; i++) {
                corral_policy_free(pol[0][i]);
                corral_policy_free(pol[1][i]);
        }
}
