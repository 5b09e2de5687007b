/* SPDX-License-Identifier: MIT */
/*
 * Figure 6, monitor cost: the CPU time this process (the supervisor: libcorral's
 * spawn, monitor and clean-up) uses while a program sleeps for a few seconds under
 * corral_run(), per second of the run, from CLOCK_PROCESS_CPUTIME_ID (the scheduler's
 * exact runtime, not ticks). With and without MemoryMax: on the fallback rungs
 * MemoryMax makes the monitor sample the tree's RSS every 20 ms. The baseline is a
 * bare fork + execve + waitpid of the same program.
 */
#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* The fallback's sampling period (src/lib/monitor.c), for the reference loop below. */
#define SAMPLE_PERIOD_S 0.020

/*
 * The least a sampler with this period can cost: a timerfd re-armed each period, an
 * epoll set polled for it, the expiration read, nothing sampled. CPU ms per second.
 */
static double empty_wakeups(double secs) {
        int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        int ep = epoll_create1(EPOLL_CLOEXEC);
        epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &(struct epoll_event){.events = EPOLLIN, .data.fd = tfd});
        double c0 = self_cpu_s(), t0 = now_s(), end = t0 + secs;
        for (double next = t0 + SAMPLE_PERIOD_S; next < end; next += SAMPLE_PERIOD_S) {
                struct itimerspec its = {
                        .it_value = {.tv_sec = (time_t)next,
                                     .tv_nsec = (long)((next - (double)(time_t)next) * 1e9)}};
                timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
                (void)poll(&(struct pollfd){.fd = ep, .events = POLLIN}, 1, -1);
                struct epoll_event ev;
                uint64_t n;
                if (epoll_wait(ep, &ev, 1, 0) == 1)
                        (void)!read(tfd, &n, sizeof n);
        }
        double c1 = self_cpu_s(), t1 = now_s();
        close(ep);
        close(tfd);
        return (c1 - c0) * 1e3 / (t1 - t0);
}

void fig_monitor(const bench *b) {
        char work[4096], secs[32];
        snprintf(work, sizeof work, "%s", b->work);
        snprintf(secs, sizeof secs, "%.0f", b->prof->monitor_run_s);
        char *argv[] = {work, "sleep", secs, NULL};
        size_t nv = 2 * b->n_backends;
        corral_policy *pol[2 * _CORRAL_BACKEND_MAX];
        samples bare = {}, empty = {}, s[2 * _CORRAL_BACKEND_MAX] = {};
        int bare_bad = 0, bad[2 * _CORRAL_BACKEND_MAX] = {};

        for (size_t i = 0; i < b->n_backends; i++) {
                pol[2 * i] = bench_policy(b->backends[i], NULL);
                pol[2 * i + 1] = bench_policy(b->backends[i], "MemoryMax=256M", NULL);
        }
        for (int run = 0; run < b->prof->monitor_runs; run++) {
                double c0 = self_cpu_s(), t0 = now_s();
                int st = bare_run(b->work, argv, -1);
                double c1 = self_cpu_s(), t1 = now_s();
                samples_add(&bare, (c1 - c0) * 1e3 / (t1 - t0));
                bare_bad += st != 0;
                samples_add(&empty, empty_wakeups(b->prof->monitor_run_s));
                for (size_t v = 0; v < nv; v++) {
                        corral_job *job = NULL;
                        corral_diag diag = {};
                        c0 = self_cpu_s(), t0 = now_s();
                        int r = corral_run(pol[v], argv, &job, &diag);
                        bool ok = r >= 0 && corral_job_result(job)->status == CORRAL_STATUS_OK;
                        corral_job_free(job);
                        c1 = self_cpu_s(), t1 = now_s();
                        samples_add(&s[v], (c1 - c0) * 1e3 / (t1 - t0));
                        bad[v] += !ok;
                }
        }

        row r = {.figure = "6",
                 .backend = "-",
                 .unit = UNIT_MS_PER_S,
                 .s = &bare,
                 .failed = bare_bad};
        snprintf(r.measure, sizeof r.measure,
                 "supervisor CPU, bare fork+execve+waitpid of a %s s sleep", secs);
        row_emit(b, &r);
        r = (row){.figure = "6", .backend = "-", .unit = UNIT_MS_PER_S, .s = &empty};
        snprintf(r.measure, sizeof r.measure,
                 "an empty %.0f ms timerfd + epoll wake-up loop, nothing sampled",
                 SAMPLE_PERIOD_S * 1e3);
        snprintf(r.note, sizeof r.note,
                 "reference: the least any sampler with the fallback's period costs here");
        row_emit(b, &r);
        for (size_t v = 0; v < nv; v++) {
                r = (row){
                        .figure = "6",
                        .backend = corral_backend_to_string(b->backends[v / 2]),
                        .unit = UNIT_MS_PER_S,
                        .s = &s[v],
                        .baseline = "bare",
                        .baseline_median = samples_median(&bare),
                        .target = TARGET_P99_AT_MOST,
                        .target_value = 1.0,
                        .absolute = true,
                        .failed = bad[v],
                };
                snprintf(r.measure, sizeof r.measure,
                         "supervisor CPU, corral_run of a %s s sleep%s", secs,
                         v % 2 ? ", MemoryMax=256M" : ", no limits");
                row_emit(b, &r);
                corral_policy_free(pol[v]);
                samples_done(&s[v]);
        }
        samples_done(&bare);
        samples_done(&empty);
}
