/* SPDX-License-Identifier: MIT */
/*
 * Figure 2, throughput: runs of /bin/true per second with 1, 2, 8 and 32 jobs in
 * flight, all through the pollable API in one epoll loop (corral_spawn, one fd per
 * job, corral_job_dispatch when it is readable). The baseline is the same loop with
 * bare children: fork + execve, a pidfd in the same kind of epoll set, waitpid.
 * Each round runs a fixed number of jobs; the rate of a round is jobs / its wall time.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static const int concurrency[] = {1, 2, 8, 32};

/* One round through libcorral; returns the runs that did not end ok. *ret_spawn_s: the
 * time spent inside corral_spawn (where spawns cannot overlap). */
static int round_corral(const corral_policy *p, char *const argv[], int jobs, int conc,
                        double *ret_s, double *ret_spawn_s) {
        int ep = epoll_create1(EPOLL_CLOEXEC), started = 0, done = 0, in_flight = 0, bad = 0;
        double t0 = now_s(), in_spawn = 0;
        while (done < jobs) {
                while (in_flight < conc && started < jobs) {
                        corral_job *job;
                        corral_diag diag = {};
                        double s0 = now_s();
                        int r = corral_spawn(p, argv, &job, &diag);
                        in_spawn += now_s() - s0;
                        if (r < 0) {
                                bad++, done++, started++;
                                continue;
                        }
                        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = job};
                        epoll_ctl(ep, EPOLL_CTL_ADD, corral_job_fd(job), &ev);
                        in_flight++, started++;
                }
                struct epoll_event evs[64];
                int n = epoll_wait(ep, evs, 64, -1);
                for (int i = 0; i < n; i++) {
                        corral_job *job = evs[i].data.ptr;
                        int r = corral_job_dispatch(job);
                        if (r == 0)
                                continue;
                        bad += r < 0 || corral_job_result(job)->status != CORRAL_STATUS_OK;
                        epoll_ctl(ep, EPOLL_CTL_DEL, corral_job_fd(job), NULL);
                        corral_job_free(job);
                        in_flight--, done++;
                }
        }
        *ret_s = now_s() - t0;
        *ret_spawn_s = in_spawn;
        close(ep);
        return bad;
}

typedef struct bare_job {
        pid_t pid;
        int pidfd;
} bare_job;

static int round_bare(const char *path, char *const argv[], int jobs, int conc, double *ret_s) {
        int ep = epoll_create1(EPOLL_CLOEXEC), started = 0, done = 0, in_flight = 0, bad = 0;
        bare_job slots[64] = {};
        double t0 = now_s();
        while (done < jobs) {
                while (in_flight < conc && started < jobs) {
                        int k = 0;
                        while (k < 64 && slots[k].pid > 0)
                                k++;
                        if (bare_start(path, argv, &slots[k].pid, &slots[k].pidfd) < 0) {
                                bad++, done++, started++;
                                continue;
                        }
                        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &slots[k]};
                        epoll_ctl(ep, EPOLL_CTL_ADD, slots[k].pidfd, &ev);
                        in_flight++, started++;
                }
                struct epoll_event evs[64];
                int n = epoll_wait(ep, evs, 64, -1);
                for (int i = 0; i < n; i++) {
                        bare_job *j = evs[i].data.ptr;
                        int st;
                        if (waitpid(j->pid, &st, 0) != j->pid || st != 0)
                                bad++;
                        epoll_ctl(ep, EPOLL_CTL_DEL, j->pidfd, NULL);
                        close(j->pidfd);
                        j->pid = 0;
                        in_flight--, done++;
                }
        }
        *ret_s = now_s() - t0;
        close(ep);
        return bad;
}

void fig_throughput(const bench *b) {
        char *argv[] = {(char *)b->true_path, NULL};
        const int jobs = b->prof->tput_jobs;

        for (size_t c = 0; c < sizeof concurrency / sizeof *concurrency; c++) {
                int conc = concurrency[c];
                samples bare = {}, s[_CORRAL_BACKEND_MAX] = {};
                int bare_bad = 0, bad[_CORRAL_BACKEND_MAX] = {};
                double busy[_CORRAL_BACKEND_MAX] = {}, total[_CORRAL_BACKEND_MAX] = {};
                corral_policy *pol[_CORRAL_BACKEND_MAX];
                for (size_t i = 0; i < b->n_backends; i++)
                        pol[i] = bench_policy(b->backends[i], NULL);

                /* round -1 warms up */
                for (int round = -1; round < b->prof->tput_rounds; round++) {
                        double secs;
                        int x = round_bare(b->true_path, argv, jobs, conc, &secs);
                        if (round >= 0) {
                                samples_add(&bare, jobs / secs);
                                bare_bad += x;
                        }
                        for (size_t i = 0; i < b->n_backends; i++) {
                                double spawn_s;
                                x = round_corral(pol[i], argv, jobs, conc, &secs, &spawn_s);
                                if (round >= 0) {
                                        busy[i] += spawn_s;
                                        total[i] += secs;
                                        samples_add(&s[i], jobs / secs);
                                        bad[i] += x;
                                }
                        }
                }

                double bm = samples_median(&bare);
                row r = {.figure = "2",
                         .backend = "-",
                         .unit = UNIT_RATE,
                         .s = &bare,
                         .failed = bare_bad};
                snprintf(r.measure, sizeof r.measure,
                         "bare fork+execve, pidfd in epoll, %d in flight", conc);
                snprintf(r.note, sizeof r.note,
                         "rounds of %d runs; p99 column: the slowest 1%% of rounds", jobs);
                row_emit(b, &r);
                for (size_t i = 0; i < b->n_backends; i++) {
                        r = (row){
                                .figure = "2",
                                .backend = corral_backend_to_string(b->backends[i]),
                                .unit = UNIT_RATE,
                                .s = &s[i],
                                .baseline = "bare",
                                .baseline_median = bm,
                                .failed = bad[i],
                        };
                        snprintf(r.measure, sizeof r.measure,
                                 "corral_spawn + epoll + dispatch, %d in flight", conc);
                        snprintf(r.note, sizeof r.note,
                                 "%.0f%% of the round spent inside corral_spawn",
                                 100 * busy[i] / total[i]);
                        row_emit(b, &r);
                        samples_done(&s[i]);
                        corral_policy_free(pol[i]);
                }
                samples_done(&bare);
        }
}
