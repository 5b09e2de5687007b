/* SPDX-License-Identifier: MIT */
/*
 * The backend interface: one table of operations per rung of the ladder
 * (cgroup2 -> cgroup2-core -> rlimit), chosen once per run by backend_choose().
 * The life cycle (job.c, outcome.c) and the monitor (monitor.c) call only these
 * operations and never ask which rung they are on; what differs between rungs lives in
 * the implementations: backend-cgroup.c (cgroup2 and cgroup2-core, sharing everything
 * but the controllers) and backend-rlimit.c (rlimits, the subreaper and /proc).
 *
 * A backend's per-run state is backend_state, inside the job: written only by the
 * backend files, read by nobody else.
 *
 * Adding a rung: a new backend-<name>.c with a backend_ops table, one line in the
 * ladder in backend.c, a corral_backend value (SPEC) and the suites that run it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"
#include "corral.h"
#include "rlimit.h"
#include "spawn.h"

typedef struct corral_job corral_job;

#define BACKEND_MAX_EVENT_FDS 2

/* Per-run state of the backend. Written only by backend*.c. */
typedef struct backend_state {
        cg_base *base;            /* cgroup rungs: where the run group lives */
        cg_group *group;          /* cgroup rungs: the run group */
        rl_set rlimits;           /* every rung: applied in the child (RLIMIT_CORE at least) */
        rl_rss_cache rss_cache;   /* fallback memory samples */
        uint64_t orphan_user_usec, orphan_system_usec; /* rlimit: rusage of escaped
                                                        * descendants we reaped */
        bool subreaper;           /* this process is a child subreaper (prctl) */
} backend_state;

/* What the kernel (or our samples) say about a finished run. */
typedef struct backend_account {
        uint64_t cpu_usec, user_usec, system_usec; /* cpu_usec == user_usec + system_usec where
                                                    * the source gives both (cpu.stat, rusage) */
        uint64_t memory_peak;  /* bytes */
        uint64_t pids_peak;
        bool memory_sampled;   /* memory_peak is a sample (fallback): the verdict may infer from it */
        uint64_t oom, oom_kill, oom_group_kill, pids_max_events, throttled_usec; /* 0 where unknown */
        uint64_t rlimit_cpu_usec; /* the RLIMIT_CPU soft limit the run had; CORRAL_INFINITY: none */
        bool exact;            /* every figure is a kernel counter: a verdict without inference is precise */
        const char *inferred;  /* what is sampled or guessed on this rung, for evidence.inferred */
} backend_account;

typedef struct backend_ops {
        corral_backend id;

        /* Capabilities the monitor plans with (not identities: what the kernel does for us). */
        bool kernel_cpu_quota; /* CPUQuota is throttled by the kernel: the CPU watch may rely on it */
        bool samples_memory;   /* no kernel memory limit: MemoryMax is watched by sampling */

        /* Create the run's container (a run group; the rlimit plan on every rung) and fill
         * *ret_enforcement. On failure why says what this rung lacks; nothing is left behind. */
        int (*create)(corral_job *j, corral_enforcement *ret_enforcement, char why[static CG_WHY_MAX]);
        /* Start the child inside it: the spawn request's cgroup fd and rlimits. */
        void (*prepare_start)(corral_job *j, spawn_request *req);

        /* Kernel event fds to watch with EPOLLPRI (cgroup.events, memory.events); returns how
         * many. on_event is called when one is ready (reading it re-arms it); it returns
         * < 0 when the fd can never fire again usefully (its group was removed), and the
         * monitor stops watching it. */
        size_t (*event_fds)(corral_job *j, int ret_fds[static BACKEND_MAX_EVENT_FDS]);
        int (*on_event)(corral_job *j, int fd);

        /* The tree: its members, a signal to each (SIGTERM in the grace period), SIGKILL to
         * all at once, and whether any member is left (1, 0, -errno). */
        int (*list)(corral_job *j, pid_list *ret);
        void (*signal)(corral_job *j, int sig);
        void (*kill)(corral_job *j);
        int (*populated)(corral_job *j);
        /* The main process was reaped: kill what it left behind (recording the SIGKILL with
         * job_note_kill), so that once populated() says 0 nothing of the run is left. */
        void (*end_tree)(corral_job *j);

        /* Now: the tree's CPU time; its memory (resident, or memory.current) and tasks;
         * the kernel's OOM kill count (0 where there is no memory controller). */
        int (*cpu_usec)(corral_job *j, uint64_t *ret_usec);
        int (*memory)(corral_job *j, uint64_t *ret_bytes, uint64_t *ret_tasks);
        int (*oom_kills)(corral_job *j, uint64_t *ret);

        /* Once the tree is gone: the final accounting; then remove the container (the job
         * has taken event_fds out of its epoll set before). Both safe on any path. */
        int (*account)(corral_job *j, backend_account *ret);
        void (*remove)(corral_job *j);
} backend_ops;

extern const backend_ops backend_cgroup2, backend_cgroup2_core, backend_rlimit;

/*
 * The ladder: the first rung whose create() works (only the requested one when the
 * policy names one), rlimit last (it always works). 0 and *ret, or -errno when the
 * requested rung is not usable here (*why says why).
 */
int backend_choose(corral_job *j, const backend_ops **ret, corral_enforcement *ret_enforcement,
                   char why[static CG_WHY_MAX]);

/* The main process's ru_maxrss (bytes) as far as it is the run's own: a command's when it
 * is above the caller's peak when the child started (j->caller_maxrss), else 0 and
 * *ret_discarded; a function's less the caller's resident memory at the fork. */
uint64_t backend_own_maxrss(const corral_job *j, bool *ret_discarded);

/* The fallback memory watch's sample of the tree l (the members; l may be changed): only
 * memory that is the run's, not the caller's, see backend.c. */
int backend_sample_rss(corral_job *j, pid_list *l, uint64_t *ret_rss);
