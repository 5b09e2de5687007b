/* SPDX-License-Identifier: MIT */
/*
 * The policy object's insides, shared by the library's modules (read-only there).
 * policy.c owns parsing and validation; every other file only reads the fields.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "corral.h"

typedef enum policy_memory_rlimit {
        POLICY_MEMORY_RLIMIT_DATA, /* default: private writable memory (Linux >= 4.7) */
        POLICY_MEMORY_RLIMIT_AS,   /* address space: breaks JITs, kept as an option */
} policy_memory_rlimit;

#define POLICY_DEFAULT_GRACE_USEC (200 * 1000ULL)
#define POLICY_DEFAULT_CAPTURE_MAX (1024 * 1024ULL)
#define POLICY_DEFAULT_OUTPUT_MAX (16 * 1024 * 1024ULL)
#define POLICY_CGROUP_BASE_MAX 512

struct corral_policy {
        uint64_t memory_max;          /* MemoryMax=, bytes; CORRAL_INFINITY = unset */
        uint64_t tasks_max;           /* TasksMax=; CORRAL_INFINITY = unset */
        uint64_t cpu_quota_ppm;       /* CPUQuota=, per-million of one CPU; 0 = unset */
        uint64_t runtime_max_usec;    /* RuntimeMaxSec=; CORRAL_INFINITY = unset */
        uint64_t cpu_time_max_usec;   /* CPUTimeMaxSec=; CORRAL_INFINITY = unset */
        uint64_t timeout_stop_usec;   /* TimeoutStopSec=: SIGTERM -> SIGKILL grace */
        corral_backend backend;       /* Backend= */
        policy_memory_rlimit memory_rlimit; /* MemoryRlimit=data|as */
        bool refuse_unenforced;       /* Unenforced=refuse: fail instead of enforcer "none" */
        bool capture_output;          /* CaptureOutput=yes */
        uint64_t capture_max;         /* CaptureMax=: per stream */
        uint64_t output_max;          /* OutputMax=: corral_run_fn() result bytes */
        corral_start_method start_method; /* StartMethod=fork|forkserver (functions) */
        char cgroup_base[POLICY_CGROUP_BASE_MAX]; /* CGroupBase=: placement rule 3, "" = unset */
};

/* Total physical memory, for MemoryMax=N%. */
uint64_t policy_physical_memory(void);
