/* SPDX-License-Identifier: MIT */
/*
 * The verdict: kernel facts and monitor actions in, status out. Pure, no I/O,
 * so every rule and race is a table row in tests/unit/test-verdict.c.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "corral.h"

/* What the monitor did first, if anything. Later actions never change it. */
typedef enum verdict_action {
        VERDICT_ACTION_NONE,
        VERDICT_ACTION_WALL,      /* RuntimeMaxSec deadline */
        VERDICT_ACTION_CPU,       /* CPUTimeMaxSec budget reached */
        VERDICT_ACTION_MEMORY,    /* fallback RSS watch passed MemoryMax */
        VERDICT_ACTION_INTERRUPT, /* corral_job_interrupt() */
        VERDICT_ACTION_SYSCALL,   /* the syscall filter denied a call whose action is kill */
} verdict_action;

typedef struct verdict_input {
        corral_backend backend;

        /* how the main process ended: waitid's si_code (CLD_*) and si_status */
        int exit_how;
        int exit_value;

        verdict_action action;
        /* an OOM kill was already counted in the run's group when the action was taken */
        bool oom_kill_before_action;

        /* memory.events deltas of the run's group (cgroup2 only) */
        uint64_t oom;
        uint64_t oom_kill;

        /* CPUTimeMaxSec and the tree's CPU time at the end */
        uint64_t cpu_limit_usec; /* CORRAL_INFINITY: unset */
        uint64_t cpu_usage_usec;

        /* The main process's own CPU time (its rusage: itself and the children it reaped)
         * and the RLIMIT_CPU soft limit it ran under (CORRAL_INFINITY: none). A SIGXCPU
         * counts as RLIMIT_CPU only when that CPU time shows the limit was reached. */
        uint64_t main_cpu_usec;
        uint64_t rlimit_cpu_usec;

        /* MemoryMax and, on the fallback rungs, the largest resident size seen */
        uint64_t memory_limit; /* CORRAL_INFINITY: unset */
        uint64_t rss_peak;
} verdict_input;

typedef struct verdict {
        corral_status status;
        const char *limit_hit; /* SPEC evidence.limit_hit, or NULL */
        const char *inferred;  /* why the status is a guess, or NULL */
        const char *note;      /* extra explanation for result.error, or NULL */
} verdict;

void verdict_decide(const verdict_input *in, verdict *ret);

/* The kernel checks RLIMIT_CPU against tick-sampled CPU time, which on a loaded or
 * virtualised host runs ahead of the exact time rusage reports (measured: SIGXCPU at
 * 0.79 s of rusage time under a 1 s limit). A SIGXCPU whose process used less than this
 * share of its RLIMIT_CPU was raised by someone, not by the limit. */
#define VERDICT_RLIMIT_CPU_MIN_PERCENT 50

/* A fallback run whose memory stayed under this share of MemoryMax did not run out of it. */
#define VERDICT_MEMORY_NEAR_PERCENT 75
