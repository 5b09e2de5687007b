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

/* Native system call numbers a filter can name (x86-64 and aarch64 stay below 512). */
#define POLICY_SYSCALL_MAX 1024

/*
 * SystemCallFilter= and friends, by value (a policy is copied into each job). Parsed by
 * filter.c; entry[nr] is 0 when the native syscall nr is not listed, FILTER_ENTRY_LISTED
 * when listed, or an errno (1..4095) for a deny-list entry written "name:ERRNO".
 */
typedef struct policy_filter {
        bool set;                /* a non-empty SystemCallFilter= was given */
        bool allow_list;         /* the first assignment had no '~' */
        bool arch_native;        /* SystemCallArchitectures=native */
        int error_number;        /* SystemCallErrorNumber=: 0 kills the run */
        int16_t entry[POLICY_SYSCALL_MAX];
} policy_filter;

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
        policy_filter filter;         /* SystemCallFilter=, SystemCallErrorNumber=, SystemCallArchitectures= */
        bool no_new_privileges;       /* NoNewPrivileges=; forced on by a filter */
        char cgroup_base[POLICY_CGROUP_BASE_MAX]; /* CGroupBase=: placement rule 3, "" = unset */
};

/* Total physical memory, for MemoryMax=N%. */
uint64_t policy_physical_memory(void);

/* Set one property; -ENOENT for an unknown key, -EINVAL with why (PARSE_WHY_MAX) for a bad value. */
int policy_set_why(corral_policy *p, const char *key, const char *value, char *why);
/* The keys corral_policy_set() takes, in the order they are documented. */
size_t policy_key_count(void);
const char *policy_key_name(size_t i);
