/* SPDX-License-Identifier: MIT */
/*
 * Figures 4 and 5, how precisely limits hold:
 *   4. CPU time consumed beyond CPUTimeMaxSec (cpu_time_s - limit) by one busy thread
 *      and by four, with the default TimeoutStopSec (the spinners die of the SIGTERM);
 *   5. memory_peak_bytes / MemoryMax for a program that mallocs and touches memory in
 *      1 MiB and in 64 MiB steps until it is stopped, and how many runs peaked above
 *      the limit. On cgroup2 the peak is memory.peak; on the fallback rungs it is what
 *      they have, the larger of the sampled tree RSS and the main process's ru_maxrss,
 *      while RLIMIT_DATA makes malloc fail.
 * Both read only corral's own result: these are statements about what it reports.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* A RuntimeMaxSec that only a limit that is not enforced at all ever reaches. */
#define SAFETY "RuntimeMaxSec=30s"

static const corral_result *run_job(const corral_policy *p, char *const argv[], corral_job **ret) {
        corral_diag diag = {};
        if (corral_run(p, argv, ret, &diag) < 0) {
                *ret = NULL;
                return NULL;
        }
        return corral_job_result(*ret);
}

void fig_cpu(const bench *b) {
        const double limit = b->prof->cpu_limit_s;
        static const char *threads[] = {"1", "4"};
        char work[4096], lim[64];

        snprintf(work, sizeof work, "%s", b->work);
        snprintf(lim, sizeof lim, "CPUTimeMaxSec=%.0fms", limit * 1e3);
        for (size_t i = 0; i < b->n_backends; i++) {
                corral_policy *p = bench_policy(b->backends[i], lim, SAFETY, NULL);
                for (size_t t = 0; t < 2; t++) {
                        char *argv[] = {work, "spin", (char *)threads[t], "60", NULL};
                        samples s = {};
                        int bad = 0;
                        char statuses[160] = "";
                        for (int run = 0; run < b->prof->cpu_runs; run++) {
                                corral_job *job;
                                const corral_result *res = run_job(p, argv, &job);
                                if (!res || res->status != CORRAL_STATUS_CPU_TIMEOUT) {
                                        bad++;
                                        if (res && strlen(statuses) < 100) {
                                                size_t n = strlen(statuses);
                                                snprintf(statuses + n, sizeof statuses - n, " %s",
                                                         corral_status_to_string(res->status));
                                        }
                                } else
                                        samples_add(&s, res->cpu_time_s - limit);
                                corral_job_free(job);
                        }
                        row r = {
                                .figure = "4",
                                .backend = corral_backend_to_string(b->backends[i]),
                                .unit = UNIT_SECONDS,
                                .s = &s,
                                .target = TARGET_P99_AT_MOST,
                                .target_value = 10e-3,
                                .absolute = true,
                                .failed = bad,
                        };
                        snprintf(r.measure, sizeof r.measure,
                                 "CPU overshoot (cpu_time_s - CPUTimeMaxSec), %s busy thread%s",
                                 threads[t], t ? "s" : "");
                        snprintf(r.note, sizeof r.note, "CPUTimeMaxSec=%.0f ms%s%s", limit * 1e3,
                                 bad ? "; other statuses:" : "", statuses);
                        row_emit(b, &r);
                        samples_done(&s);
                }
                corral_policy_free(p);
        }
}

void fig_memory(const bench *b) {
        const unsigned long limit_mib = b->prof->mem_limit_mib;
        const double limit = (double)limit_mib * 1024 * 1024;
        static const char *steps[] = {"1", "64"};
        char work[4096], lim[64], max[32];

        snprintf(work, sizeof work, "%s", b->work);
        snprintf(lim, sizeof lim, "MemoryMax=%luM", limit_mib);
        snprintf(max, sizeof max, "%lu", 4 * limit_mib);
        for (size_t i = 0; i < b->n_backends; i++) {
                corral_backend be = b->backends[i];
                corral_policy *p = bench_policy(be, lim, SAFETY, NULL);
                for (size_t k = 0; k < 2; k++) {
                        char *argv[] = {work, "alloc", (char *)steps[k], max, NULL};
                        samples s = {};
                        int above = 0, bad = 0, by_status[_CORRAL_STATUS_MAX] = {};
                        corral_enforcer enforcer = CORRAL_ENFORCER_UNSET;
                        for (int run = 0; run < b->prof->mem_runs; run++) {
                                corral_job *job;
                                const corral_result *res = run_job(p, argv, &job);
                                if (!res) {
                                        bad++;
                                        continue;
                                }
                                double q = (double)res->memory_peak_bytes / limit;
                                samples_add(&s, q);
                                above += res->memory_peak_bytes > (uint64_t)limit;
                                by_status[res->status]++;
                                enforcer = res->enforcement.memory;
                                /* Ran to the end of its allocations: the limit did not stop it. */
                                bad += res->status == CORRAL_STATUS_WALL_TIMEOUT;
                                corral_job_free(job);
                        }
                        row r = {
                                .figure = "5",
                                .backend = corral_backend_to_string(be),
                                .unit = UNIT_RATIO,
                                .s = &s,
                                .target = be == CORRAL_BACKEND_CGROUP2 ? TARGET_MAX_AT_MOST
                                                                       : TARGET_NONE,
                                .target_value = 1.0,
                                .failed = bad,
                        };
                        snprintf(r.measure, sizeof r.measure,
                                 "peak / MemoryMax, touching %s MiB steps", steps[k]);
                        int n = snprintf(r.note, sizeof r.note,
                                         "MemoryMax=%lu MiB enforced by %s; "
                                         "%d of %zu runs above the limit; status:",
                                         limit_mib, corral_enforcer_to_string(enforcer), above,
                                         s.n);
                        for (int st = 0; st < _CORRAL_STATUS_MAX && n < (int)sizeof r.note; st++)
                                if (by_status[st])
                                        n += snprintf(r.note + n, sizeof r.note - (size_t)n,
                                                      " %s %d",
                                                      corral_status_to_string((corral_status)st),
                                                      by_status[st]);
                        row_emit(b, &r);
                        samples_done(&s);
                }
                corral_policy_free(p);
        }
}
