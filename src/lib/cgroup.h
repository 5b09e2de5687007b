/* SPDX-License-Identifier: MIT */
/*
 * cgroup v2: where run groups may be created, and one transient group per run.
 * The only file that talks to libcgroup or cgroupfs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

typedef struct cg_base cg_base;
typedef struct cg_group cg_group;

#define CG_WHY_MAX 512

/*
 * Find where this process may create run groups. With want_controllers the base must
 * offer memory, pids and cpu to its children (the cgroup2 rung); without, any writable
 * cgroup v2 directory will do (cgroup2-core). On failure *why says what is missing.
 */
int cg_base_find(bool want_controllers, cg_base **ret, char why[static CG_WHY_MAX]);
cg_base *cg_base_free(cg_base *b);
const char *cg_base_path(const cg_base *b); /* absolute filesystem path */

/*
 * End the run groups left by corral processes that died (SIGKILL, a crash): kill what
 * is in them (cgroup.kill), wait until they are empty and remove them. Dead means
 * exactly that: run-<pid>.* whose pid is gone here and whose flock (held by every
 * corral on its own groups, cg_group_create) is free; groups of live corrals, also ones
 * in other pid namespaces, and groups we may not kill in are left alone. Once per
 * process and base.
 */
void cg_base_sweep(cg_base *b);

/*
 * A service's claim (corral_service_claim_base): lock the base (flock; -EBUSY when held)
 * and kill, wait for and remove every run group of a dead corral process in it (dead as
 * cg_base_sweep decides), nested groups included, reporting each to log. Returns the lock fd.
 */
int cg_base_claim(cg_base *b, void (*log)(void *userdata, const char *group, unsigned killed), void *userdata,
                  char why[static CG_WHY_MAX]);

/* Create "run-<pid>.<seq>" below the base; with controllers and limits for the cgroup2 rung. */
int cg_group_create(cg_base *b, const corral_policy *p, bool with_controllers, cg_group **ret,
                    char why[static CG_WHY_MAX]);
/* Remove it (it must be empty); the group object is freed on every path. */
int cg_group_remove(cg_group *g);

int cg_group_dirfd(const cg_group *g);          /* for CLONE_INTO_CGROUP and openat */
const char *cg_group_path(const cg_group *g);   /* absolute filesystem path */
/* fds to watch with EPOLLPRI: cgroup.events always, memory.events with controllers (else -EBADF) */
int cg_group_events_fd(const cg_group *g);
int cg_group_memory_events_fd(const cg_group *g);

int cg_group_populated(cg_group *g); /* 1, 0, or -errno */
/* Send sig to every process in the group (SIGTERM during the grace period). */
int cg_group_signal(cg_group *g, int sig);
/* Kill everything in the group at once (cgroup.kill, 5.14; else SIGKILL every member). */
int cg_group_kill(cg_group *g);
/* The group's member pids (cgroup.procs); caller frees *ret. */
int cg_group_pids(cg_group *g, int **ret, size_t *ret_n);

typedef struct cg_stats {
        uint64_t usage_usec, user_usec, system_usec, throttled_usec; /* cpu.stat */
        uint64_t memory_peak;          /* memory.peak (5.19), or memory.current at best; 0 unknown */
        uint64_t oom, oom_kill, oom_group_kill; /* memory.events */
        uint64_t pids_peak;            /* pids.peak (6.1) */
        uint64_t pids_max_events;      /* pids.events max */
} cg_stats;

/* cpu.stat usage only: the monitor's CPU watch. */
int cg_group_cpu_usage(cg_group *g, uint64_t *ret_usec);
/* memory.events oom_kill only: the race check before an action. */
int cg_group_oom_kills(cg_group *g, uint64_t *ret);
int cg_group_stats(cg_group *g, cg_stats *ret);
/* memory.current and pids.current (with controllers only, else -EOPNOTSUPP). */
int cg_group_memory_current(cg_group *g, uint64_t *ret_bytes, uint64_t *ret_tasks);

/* Move this process into <own cgroup>/supervisor when it is alone there (corral_claim_cgroup). */
int cg_claim_own(char why[static CG_WHY_MAX]);

/*
 * For placement.c, which decides where the base is; the cgroupfs work stays here.
 * cg_mount: the cgroup2 mount this process sees and whether it is read-only (-ENOENT:
 * none). cg_own_path: this process's cgroup v2 path ("0::" of /proc/self/cgroup).
 * cg_hybrid_layout: /sys/fs/cgroup is systemd's hybrid layout (tmpfs + unified/).
 */
int cg_mount(char ret_mount[static 512], bool *ret_ro);
int cg_own_path(char ret[static 4096]);
bool cg_hybrid_layout(void);
/* Which of memory, pids, cpu dirfd's cgroup.controllers lacks, as "memory, cpu" ("": none). */
int cg_missing_controllers(int dirfd, char ret[static 64]);
/* Enable memory, pids and cpu for dirfd's children where not yet (one write, as the kernel wants). */
int cg_enable_controllers(int dirfd);
/* mkdir dirfd/name (an existing group is fine; *ret_created says whether it is new). */
int cg_make_group(int dirfd, const char *name, bool *ret_created);
/* rmdir dirfd/name (it must be empty). */
int cg_remove_empty(int dirfd, const char *name);
/* Move this process (all its threads) into dirfd/name. */
int cg_join(int dirfd, const char *name);
/* Something else moved this process (a systemd scope): read its cgroup again. cg_join and
 * the claim forget by themselves. */
void cg_forget_own(void);
