/* SPDX-License-Identifier: MIT */
/*
 * Varlink framing for corrald and the client API (client.c): NUL-terminated JSON objects
 * over a SOCK_STREAM Unix socket, file descriptors as SCM_RIGHTS on the message's first
 * byte (systemd's extension). Non-blocking both ways: partial input is buffered per
 * connection, output is queued and flushed when the socket is writable.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define VL_MESSAGE_MAX (1024 * 1024)  /* one call, JSON included: bigger closes the connection */
#define VL_OUTPUT_MAX (8 * 1024 * 1024) /* queued replies a client does not read */
#define VL_FDS_MAX 8                  /* fds with one message */

typedef struct vl_conn {
        int fd;
        uid_t uid;
        gid_t gid;
        pid_t pid;
        gid_t *groups; /* supplementary groups from SO_PEERGROUPS */
        size_t n_groups;

        char *in;
        size_t in_len, in_size;
        int in_fds[VL_FDS_MAX]; /* fds that arrived with the first byte of the pending message */
        size_t n_in_fds;
        bool fds_overflow; /* MSG_CTRUNC, or more than VL_FDS_MAX */

        char *out;
        size_t out_len, out_size, out_off;
        int out_fds[VL_FDS_MAX]; /* fds to attach to the first byte of the queued output */
        size_t n_out_fds;
        size_t out_fds_at;       /* offset of the message they belong to */

        bool eof;
} vl_conn;

/* A parsed call: the object owns everything; fds are taken from the connection. */
typedef struct vl_call {
        json_t *msg;
        const char *method;
        json_t *parameters; /* borrowed from msg; an empty object when absent */
        bool more, oneway;
        int fds[VL_FDS_MAX];
        size_t n_fds;
        bool fds_overflow;
} vl_call;

int vl_conn_init(vl_conn *c, int fd, bool want_peer);
void vl_conn_done(vl_conn *c);

/* Read what the socket has (non-blocking). 0 read something or nothing to read, -errno
 * on a socket error; c->eof at end of stream. -EMSGSIZE: a message passed VL_MESSAGE_MAX. */
int vl_conn_read(vl_conn *c);

/*
 * Take the next complete message off the input. 1 and *ret (free with vl_call_done) when
 * there is one, 0 when not yet, -EBADMSG when it is not a valid varlink call: *ret_why
 * then says why (for a log line; the connection is to be closed).
 */
int vl_conn_next(vl_conn *c, vl_call *ret, char *why, size_t why_size);
void vl_call_done(vl_call *call);
/* Take fd index i out of the call (-EBADF if absent or taken). */
int vl_call_take_fd(vl_call *call, size_t i);

/* Queue a reply (steals parameters; NULL = {}), an error (steals parameters), or a raw
 * message with fds (dup'ed). -ENOBUFS past VL_OUTPUT_MAX. */
int vl_conn_reply(vl_conn *c, json_t *parameters, bool continues);
int vl_conn_error(vl_conn *c, const char *error, json_t *parameters);
int vl_conn_send(vl_conn *c, json_t *msg, const int *fds, size_t n_fds);

/* Write queued output. 0 all written or would block; -errno when the peer is gone. */
int vl_conn_flush(vl_conn *c);
static inline bool vl_conn_has_output(const vl_conn *c) {
        return c->out_len > c->out_off;
}

/* Blocking helpers for clients: send one call, read one reply. */
int vl_send_call(int fd, json_t *msg, const int *fds, size_t n_fds);
/* One reply; -ECONNRESET at EOF, -EBADMSG if not JSON. buf keeps bytes read past it. */
typedef struct vl_reader {
        char *buf;
        size_t len, size;
} vl_reader;
int vl_read_reply(int fd, vl_reader *r, json_t **ret);
void vl_reader_done(vl_reader *r);
