/* SPDX-License-Identifier: MIT */
/*
 * corral-bench: what the figure files share. A figure takes samples, then emits rows:
 * one machine-readable line each (see row_emit()), which bench/run turns into the
 * markdown table of bench/RESULTS.md.
 *
 * Every time is CLOCK_MONOTONIC (the clock libcorral itself uses) in seconds as a
 * double. Baselines are always measured in the same process, interleaved with or right
 * next to what they are compared with, so that ratios survive a noisy machine.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "corral.h"

/* Run counts and durations of one environment (native or a TCG VM). */
typedef struct profile {
        const char *name;
        bool absolute_targets; /* judge targets in seconds (not under TCG) */
        int overhead_runs; /* figure 1, library */
        int cli_runs; /* figure 1, whole processes */
        int tput_rounds; /* figure 2 */
        int tput_jobs; /* jobs per round */
        int kill_runs; /* figure 3, per workload */
        double kill_deadline_s; /* RuntimeMaxSec of figure 3 */
        int cpu_runs; /* figure 4, per thread count */
        double cpu_limit_s; /* CPUTimeMaxSec of figure 4 */
        int mem_runs; /* figure 5, per step size */
        unsigned long mem_limit_mib;
        int monitor_runs; /* figure 6 */
        double monitor_run_s;
} profile;

typedef struct bench {
        const profile *prof;
        const char *env; /* "host" or "vm": the first column of every row */
        corral_backend backends[_CORRAL_BACKEND_MAX];
        size_t n_backends;
        const char *work; /* bench-work */
        const char *corral_cli; /* build/src/cli/corral */
        const char *true_path; /* /bin/true, resolved once */
} bench;

/* ---- samples and rows (stats.c) ---- */

typedef struct samples {
        double *v;
        size_t n, cap;
        bool sorted;
} samples;

void samples_add(samples *s, double v);
void samples_done(samples *s);
double samples_median(samples *s);
/* Nearest-rank percentile, p in (0, 100]: with fewer than 100 samples p99 is the maximum. */
double samples_pct(samples *s, double p);
double samples_max(samples *s);

typedef enum unit {
        UNIT_SECONDS, /* shown as µs, ms or s */
        UNIT_RATE, /* runs per second: higher is better, the tail is the low end */
        UNIT_RATIO, /* a dimensionless ratio such as peak / limit */
        UNIT_MS_PER_S, /* CPU milliseconds per second of run */
} unit;

typedef enum target_kind {
        TARGET_NONE,
        TARGET_RATIO_AT_MOST, /* median / baseline median <= target */
        TARGET_MEDIAN_AT_MOST, /* median <= target, in the row's unit */
        TARGET_P99_AT_MOST, /* p99 (the worst 1%) <= target */
        TARGET_MAX_AT_MOST, /* every sample <= target */
} target_kind;

typedef struct row {
        const char *figure;
        const char *backend; /* "-" when the row is not about one rung */
        char measure[160];
        unit unit;
        samples *s;
        const char *baseline; /* what the ratio is against, or NULL */
        double baseline_median;
        target_kind target;
        double target_value;
        bool absolute; /* the target is in seconds: judged only with prof->absolute_targets */
        char note[240];
        int failed; /* runs that did not end as they had to: the row is invalid */
} row;

/* One line on stdout: BENCH <tab> env <tab> figure <tab> backend <tab> measure <tab> n <tab>
 * median <tab> p99 <tab> baseline <tab> ratio <tab> target <tab> met <tab> note. */
void row_emit(const bench *b, const row *r);
/* The same for a row that could not be measured here (a tool is missing...). */
void row_skip(const bench *b, const char *figure, const char *backend, const char *measure,
              const char *why);

/* ---- helpers (corral-bench.c) ---- */

double now_s(void);
/* The calling process's own CPU time (all its threads), in seconds. */
double self_cpu_s(void);
/* fork + exec path + wait: the floor. stdout and stderr go to out_fd unless it is -1.
 * Returns the wait status, or -errno. */
int bare_run(const char *path, char *const argv[], int out_fd);
/* fork + exec path in its own process group, and a pidfd; -errno on failure. */
int bare_start(const char *path, char *const argv[], pid_t *ret_pid, int *ret_pidfd);
/* A policy for one rung with KEY=VALUE assignments, NULL-terminated; exits on bad input. */
corral_policy *bench_policy(corral_backend backend, ...);
/* SIGKILL and reap every child of this process; returns how many there were. After a
 * corral run there must be none: as the subreaper, this process inherits what escaped. */
int reap_leftovers(void);
/* Find an executable in $PATH; NULL if there is none. */
char *bench_which(const char *name);
void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the figures ---- */

void fig_overhead_lib(const bench *b);
void fig_overhead_cli(const bench *b);
void fig_throughput(const bench *b);
void fig_kill(const bench *b);
void fig_cpu(const bench *b);
void fig_memory(const bench *b);
void fig_monitor(const bench *b);
