/* SPDX-License-Identifier: MIT */
/*
 * Namespaces and the run's view of the filesystem (PrivateTmp=, ProtectSystem=,
 * ReadOnlyPaths=, ReadWritePaths=, InaccessiblePaths=, PrivateIPC=, PrivatePIDs='s
 * /proc, PrivateNetwork='s join): a plan checked and built in the parent, carried out
 * by the child between clone and exec without allocating.
 */
#pragma once

#include <stdbool.h>

#include "policy.h"

#define NS_WHY_MAX 256
#define NS_MAX_MOUNTS 48
#define NS_ID_MAP_MAX 48
#define NS_MAX_HOST_RO 16
#define NS_HOST_RO_PATH_MAX 256

typedef enum ns_mount_op {
        NS_MOUNT_PRIVATE,      /* / and below: no propagation either way */
        NS_MOUNT_RO,           /* bind path onto itself (if not a mount point), read-only, recursively */
        NS_MOUNT_RW,           /* bind path onto itself, writable again, recursively */
        NS_MOUNT_TMPFS,        /* a fresh tmpfs (mode 1777) */
        NS_MOUNT_HIDE_DIR,     /* an empty read-only tmpfs with mode 000 */
        NS_MOUNT_HIDE_FILE,    /* /dev/null bound read-only over a file */
        NS_MOUNT_PROC,         /* a /proc of the run's own pid namespace */
        NS_MOUNT_MQUEUE,       /* /dev/mqueue of the run's own ipc namespace */
        NS_MOUNT_RW_API,       /* /dev, /proc, /sys under ProtectSystem=strict: writable again as
                                * NS_MOUNT_RW, but a read-only mount below them that a user
                                * namespace locked stays read-only (it was so before) */
        _NS_MOUNT_OP_LAST = NS_MOUNT_RW_API, /* the last value: the forkserver's wire checks it */
} ns_mount_op;

typedef struct ns_mount {
        ns_mount_op op;
        const char *path; /* points into the job's copy of the policy, or a literal */
} ns_mount;

typedef struct ns_plan {
        int unshare_flags;    /* CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET (child's unshare) */
        int clone_flags;      /* CLONE_NEWUSER, CLONE_NEWPID: given to clone itself */
        int netns_fd;         /* a prepared namespace to setns() into, or -1 */
        /* The unprivileged path: the child is cloned into a user namespace of its own and
         * maps the caller's uid and gid to themselves (these lines, written by the child). */
        bool userns;
        bool lo_up;           /* the child makes its own netns (CLONE_NEWNET above): lo up there */
        char uid_map[NS_ID_MAP_MAX];
        char gid_map[NS_ID_MAP_MAX];
        unsigned n_mounts;
        ns_mount mounts[NS_MAX_MOUNTS];
        /* ProtectSystem=strict: the mounts below /dev, /proc and /sys that the host has
         * read-only, read-only again after those three are made writable (NS_MOUNT_RO ops
         * at the end of mounts[] point here) */
        unsigned n_host_ro;
        char host_ro[NS_MAX_HOST_RO][NS_HOST_RO_PATH_MAX];
} ns_plan;

/*
 * In the parent: the plan for p, with its paths checked (a missing path is an error unless
 * written with a leading '-', then it is left out). netns_fd: a namespace from net.c to
 * join, or -1: with PrivateNetwork= the child then makes a fresh one itself.
 * -errno with why naming the setting and path.
 */
int ns_plan_build(const corral_policy *p, int netns_fd, ns_plan *ret, char *why);

/* Whether this process may make the namespaces at all (root, or CAP_SYS_ADMIN). */
bool ns_privileged(void);

/* Whether an unprivileged process can have them through a user namespace here: 1 yes, 0
 * no (why says what refused it: user.max_user_namespaces=0, a seccomp profile, ...). It
 * tries: a throw-away child cloned with CLONE_NEWUSER that writes its maps (26-80 us here). */
int ns_userns_available(char *why, size_t why_size);

/* In the child (async-signal-safe): write the user namespace's maps (plan->userns), unshare,
 * join the netns, mount. 0 or an errno; on failure *ret_detail says which mount failed
 * (its index), or which map (0 setgroups, 1 uid_map, 2 gid_map). */
int ns_child_userns(const ns_plan *plan, int *ret_detail);
/* Function mode: a fork() child was not cloned into its user namespace; it unshares one
 * (it is single-threaded, which unshare(CLONE_NEWUSER) needs) before ns_child_userns(). */
int ns_child_new_userns(void);
int ns_child_enter(const ns_plan *plan, int *ret_detail);
int ns_child_mount(const ns_plan *plan, int *ret_detail);
