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

typedef enum policy_protect_system {
        POLICY_PROTECT_SYSTEM_NO,
        POLICY_PROTECT_SYSTEM_YES,    /* /usr, /boot, /efi read-only */
        POLICY_PROTECT_SYSTEM_FULL,   /* and /etc */
        POLICY_PROTECT_SYSTEM_STRICT, /* everything but /dev, /proc, /sys */
} policy_protect_system;

#define POLICY_PATHS_MAX 8
#define POLICY_PATH_MAX 256

/* ReadOnlyPaths= and friends, by value. A leading '-' (kept) means "ignore if missing". */
typedef struct policy_paths {
        unsigned n;
        char v[POLICY_PATHS_MAX][POLICY_PATH_MAX];
} policy_paths;

typedef struct policy_isolation {
        bool private_tmp;       /* PrivateTmp=: fresh /tmp and /var/tmp */
        bool private_network;   /* PrivateNetwork=: a netns with only lo, up */
        bool private_pids;      /* PrivatePIDs=: a pid namespace and its own /proc */
        bool private_ipc;       /* PrivateIPC=: SysV IPC and POSIX message queues of its own */
        policy_protect_system protect_system;
        policy_paths read_only, read_write, inaccessible;
        bool dynamic_user;      /* DynamicUser=: a uid/gid of its own per run */
        bool user_set, group_set; /* User=, Group= (root only) */
        uint32_t uid, gid;
} policy_isolation;

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
        policy_isolation iso;         /* namespaces and the filesystem */
        /* Every assignment that was applied, "Key=Value" in order: what a client sends to
         * corrald, so that keys added later travel without a serializer of their own.
         * Owned by the policy; a job's copy of the struct never frees or reads it. */
        char **assignments;
        size_t n_assignments;
        char cgroup_base[POLICY_CGROUP_BASE_MAX]; /* CGroupBase=: placement rule 3, "" = unset */
};

/* The applied assignments, for the client (owned by the policy). */
char *const *policy_assignments(const corral_policy *p, size_t *ret_n);

/* Does the policy ask for any namespace (mount, net, pid, ipc)? */
bool policy_wants_namespaces(const corral_policy *p);

/* Total physical memory, for MemoryMax=N%. */
uint64_t policy_physical_memory(void);

/* Set one property; -ENOENT for an unknown key, -EINVAL with why (PARSE_WHY_MAX) for a bad value. */
int policy_set_why(corral_policy *p, const char *key, const char *value, char *why);
/* The keys corral_policy_set() takes, in the order they are documented. */
size_t policy_key_count(void);
const char *policy_key_name(size_t i);

/* A policy file's text from memory (name is what messages call it): what
 * corral_policy_load() does after reading the file. For tests and fuzzing. */
int policy_file_apply(corral_policy *p, const char *name, const char *text, size_t size, corral_diag *diag);
