/* SPDX-License-Identifier: MIT */
/*
 * A job's isolation: what the policy's filter, namespaces and death-with-corral settings
 * need around a spawn (prepared in the parent, used by the child's set-up steps), and the
 * supervisor side of the filter (the seccomp listener in the job's epoll set).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "dynuser.h"
#include "filter.h"
#include "namespace.h"
#include "spawn.h"

/* What the child's set-up steps read (through its copy of the parent's memory). */
typedef struct iso_child {
        const ns_plan *ns;        /* NULL: no namespaces */
        const filter_prog *prog;  /* NULL: no filter */
        int notify_fd;            /* the socket the listener is sent on */
        bool no_new_privs;
        pid_t parent_pid;         /* PR_SET_PDEATHSIG: the parent that must outlive the set-up */
        bool set_creds;           /* User=/Group=/DynamicUser=: become uid/gid, no groups */
        uid_t uid;
        gid_t gid;
} iso_child;

typedef struct iso_state {
        bool active;
        iso_child child;
        ns_plan ns;
        const filter_prog *prog; /* held until clone */
        int sock[2];             /* [0] ours, [1] the child's */
        int listener;
        int netns_fd;
        bool netns_reused;
        dynuser user;            /* DynamicUser=: the uid held for the run */
        spawn_credentials creds; /* User=/Group=/DynamicUser=: for the credentials step */
} iso_state;

struct corral_job;

/* Before the spawn: check and prepare the policy's isolation here; -errno with why
 * (a spawn_error naming the setting) when it cannot be had. */
int iso_prepare(struct corral_job *j, char *why, size_t why_size);
/* A setting function runs cannot have (PrivatePIDs=): why, naming the key, or NULL. */
const char *iso_unsupported_for_functions(const corral_policy *p);
/* Who the run becomes by its policy (User=/Group=/DynamicUser=), or NULL. */
const spawn_credentials *iso_credentials(struct corral_job *j);
/* The child's part, or NULL. */
const iso_child *iso_request(struct corral_job *j);
/* Right after clone (started or not): drop what only the child needed, watch for the listener. */
void iso_started(struct corral_job *j);
/* The run is over: close everything, give the network namespace back. Safe on any path. */
void iso_release(struct corral_job *j);

/*
 * A function run's isolation for the forkserver, which was forked before the policy was
 * known and holds none of it: the plan's data (namespace flags, mounts and their paths,
 * the filter's program, who the run becomes) as one memfd; the fds it names travel
 * beside it (c->notify_fd, c->ns->netns_fd). The server maps it privately, so each
 * child has its own copy (the filter's placeholder is written in there), and unmaps it
 * after the fork: nothing of one run stays in the server for the next.
 */
typedef struct iso_unpacked {
        iso_child child;
        ns_plan ns;
        filter_prog prog;
        spawn_credentials creds;
        void *map;
        size_t map_size;
} iso_unpacked;

int iso_child_pack(const iso_child *c, int *ret_memfd);
/* In the server: the memfd and the fds received with it (-1: none). -EBADMSG for a
 * malformed one. The result points into the mapping: iso_unpacked_done() after the fork. */
int iso_child_unpack(int memfd, int notify_fd, int netns_fd, iso_unpacked *ret);
void iso_unpacked_done(iso_unpacked *u);
