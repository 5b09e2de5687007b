/* SPDX-License-Identifier: MIT */
/*
 * What corrald's files share: the server (one epoll loop: listening sockets, client
 * connections, every job's fd, a signalfd), its clients and its jobs.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "corral.h"
#include "varlink.h"

typedef enum watch_kind {
        WATCH_LISTEN,
        WATCH_CLIENT,
        WATCH_JOB,
        WATCH_SIGNAL,
} watch_kind;

typedef struct watch {
        watch_kind kind;
        int fd;
        bool dead; /* closed during this batch of events; freed after it */
} watch;

typedef struct server server;
typedef struct client client;
typedef struct djob djob;

/*
 * What a method does to the host beyond its connection, in one table: corrald runs with
 * server_host_ops; tests/fuzz/fuzz-method.c passes a table that checks each validated Run
 * where it would start and starts nothing, so the real handlers run without a spawn.
 */
typedef struct server_ops {
        /* Start j (j->argv, j->uid set) under p and attr, fill j->job and watch its fd:
         * 0, or -errno with diag saying why. */
        int (*start)(server *s, djob *j, const corral_policy *p, const corral_spawn_attr *attr,
                     corral_diag *diag);
        int (*doctor)(const corral_policy *p, corral_doctor_report *ret);
} server_ops;
extern const server_ops server_host_ops;

struct client {
        watch w;
        server *s;
        vl_conn vl;
        uint64_t serial;
        djob *run;      /* the Run this connection waits for (calls are answered in order) */
        bool run_more;  /* that Run asked for "more" */
        bool closing;   /* close once the output is flushed */
        uint32_t events; /* what the epoll entry asks for now */
        client *next, *prev;
};

struct djob {
        watch w;
        server *s;
        uint64_t id;
        char id_str[24];
        uid_t uid;
        gid_t gid;
        char **argv;
        uint64_t memory_max; /* CORRAL_INFINITY if none: for MemoryMaxTotal */
        uint64_t start_usec;
        corral_job *job;
        client *owner; /* NULL once the client went away */
        bool orphaned; /* the client disconnected mid-run */
        bool reply;    /* the owner wants the result (not oneway) */
        uint64_t grace_usec; /* TimeoutStopSec, for the shutdown deadline */
        djob *next, *prev;
};

struct server {
        const server_ops *ops;
        int epfd;
        watch signal_w;
        watch listen_w[8];
        size_t n_listen;
        bool listen_owned; /* we bound the socket ourselves (not activated): unlink at exit */
        char *listen_path;
        config cfg;
        client *clients, *grave_clients;
        size_t n_clients;
        djob *jobs, *grave_jobs;
        size_t n_jobs;
        uint64_t next_job_id, next_client_serial;
        uint64_t start_usec;
        bool stopping;
        bool trim_pending; /* memory was freed since the last malloc_trim */
        uint64_t stop_deadline_usec;
        uint64_t grace_max_usec; /* the longest TimeoutStopSec among running jobs */
};

uint64_t clock_usec(void);

/* server.c */
int server_init(server *s);
int server_add_listener(server *s, int fd);
/* A connected socket: a client (socket activation may hand one over). */
int server_adopt_connection(server *s, int fd);
/* The loop; returns 0 after a clean stop (SIGTERM), -errno if epoll failed. */
int server_run(server *s);
/* Close what server_init and server_add_listener opened (the loop has ended). */
void server_done(server *s);
void server_client_update(client *c); /* re-arm the client's epoll entry after a state change */
void server_client_close(client *c);
djob *server_find_job(server *s, const char *id);
int server_add_job(server *s, djob *j);
/* A finished (or failed) job leaves: log line, final reply to its client, free. */
void server_job_done(djob *j);

/* methods.c: handle one call from c. */
void methods_dispatch(client *c, vl_call *call);
/* The final reply of a Run (the result object), or an error when it cannot be built. */
void methods_send_result(client *c, djob *j, bool continues);

/* auth.c */
/* Keys only root may set (Backend=, and User=/Group=/DynamicUser= once they exist). */
bool auth_root_only_key(const char *key);
/* Check p (and the caller's other jobs) against the caller's quota; fill unset limits
 * with its caps. 0, or -EDQUOT with *ret_quota (the cap's name), limit and reason. */
int auth_check_quota(server *s, const client *c, corral_policy *p, const char **ret_quota, char *limit,
                     size_t limit_size, char *reason, size_t reason_size);
