/* SPDX-License-Identifier: MIT */
/*
 * The fallback rungs' half of enforcement: which rlimits a policy turns into, and
 * what /proc shows of a run's process tree (members, resident memory, CPU time).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "policy.h"

typedef struct rl_limit {
        int resource;
        struct rlimit value;
} rl_limit;

typedef struct rl_set {
        size_t n;
        rl_limit v[8];
} rl_set;

/* The rlimits for a run on this backend, and what enforces each limit of the policy. */
void rl_plan(const corral_policy *p, corral_backend backend, rl_set *ret_set,
             corral_enforcement *ret_enforcement);

/* The RLIMIT_CPU soft limit in the set, in usec; CORRAL_INFINITY without one. */
uint64_t rl_cpu_soft_usec(const rl_set *set);

/* In the child, between clone and exec: async-signal-safe. Returns the failing index or -1. */
int rl_apply(const rl_set *set, int *ret_errno);

/* A growable list of pids. */
typedef struct pid_list {
        int *pids;
        size_t n, cap;
} pid_list;
void pid_list_done(pid_list *l);
bool pid_list_has(const pid_list *l, int pid);
int pid_list_add(pid_list *l, int pid);
void pid_list_remove(pid_list *l, int pid);

/* Add roots and all their descendants (through /proc/PID/task/TID/children). */
int rl_add_descendants(pid_list *l, const int *roots, size_t n_roots);
/* Add every process whose session id is sid (a /proc scan). */
int rl_add_session(pid_list *l, int sid);
/* This process's children (all threads'), except those in skip. */
int rl_add_own_children(pid_list *l, const pid_list *skip);
/* The same, only those in session sid: what a subreaper inherited from one run. */
int rl_add_own_children_in_session(pid_list *l, const pid_list *skip, int sid);

/* Is pid dead (a zombie, or gone)? *ret_ours: it is a child of this process. */
bool rl_is_zombie(int pid, bool *ret_ours);

/* statm fds kept open between the fallback's memory samples (open+close cost more than
 * the read). A cached fd of a dead process fails to read and is replaced. */
typedef struct rl_rss_cache {
        struct {
                int pid, fd;
        } e[8];
        size_t n;
} rl_rss_cache;
/* The resident memory of l's processes (statm), or with private_only the memory only
 * they map (smaps_rollup's Private_Clean + Private_Dirty): what a function run's processes,
 * copies of the caller, did not inherit. A cache is used in one mode only. */
int rl_sample_rss_cached(rl_rss_cache *c, const pid_list *l, bool private_only, uint64_t *ret_rss);
/* This process's resident memory (statm), bytes; 0 if unreadable. */
uint64_t rl_self_rss(void);
void rl_rss_cache_clear(rl_rss_cache *c);

/* CPU time (usec) of the pids and of the children they reaped. */
int rl_cpu_usec(const pid_list *l, uint64_t *ret_usec);
