/* SPDX-License-Identifier: MIT */
/*
 * Varlink framing: the only file that reads or writes corrald's sockets. A call is one
 * JSON object ended by NUL; jansson parses it with duplicate keys rejected, and a call
 * with unknown top-level keys, a non-string method, non-object parameters, oneway with
 * more, or upgrade is refused (the connection closes, as systemd's varlink does).
 * File descriptors come as one SCM_RIGHTS control message on the recvmsg() that reads
 * the message's first byte (recvmsg(MSG_CMSG_CLOEXEC)); fds that arrive in the middle
 * of a message, or more than VL_FDS_MAX of them, spoil that message.
 * Touches: Unix sockets (recvmsg/sendmsg, SO_PEERCRED, SO_PEERGROUPS). No privilege.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"
#include "varlink.h"

static void close_fds(int *fds, size_t *n) {
        for (size_t i = 0; i < *n; i++)
                safe_close(fds[i]);
        *n = 0;
}

int vl_conn_init(vl_conn *c, int fd, bool want_peer) {
        *c = (vl_conn){ .fd = fd };
        if (!want_peer)
                return 0;
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return negative_errno();
        c->uid = cred.uid;
        c->gid = cred.gid;
        c->pid = cred.pid;
        /* Supplementary groups at connect() time (Linux >= 4.13). */
        gid_t groups[256];
        len = sizeof groups;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) >= 0 && len > 0) {
                c->groups = malloc(len);
                if (!c->groups)
                        return -ENOMEM;
                memcpy(c->groups, groups, len);
                c->n_groups = len / sizeof(gid_t);
        }
        return 0;
}

void vl_conn_done(vl_conn *c) {
        close_fds(c->in_fds, &c->n_in_fds);
        close_fds(c->out_fds, &c->n_out_fds);
        free(c->in);
        free(c->out);
        free(c->groups);
        c->fd = safe_close(c->fd);
        *c = (vl_conn){ .fd = -EBADF };
}

static void take_cmsg_fds(vl_conn *c, struct msghdr *mh, bool first_byte) {
        if (mh->msg_flags & MSG_CTRUNC)
                c->fds_overflow = true;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                int *fds = (int *) CMSG_DATA(cm);
                for (size_t i = 0; i < n; i++) {
                        if (!first_byte || c->n_in_fds >= VL_FDS_MAX) {
                                /* fds in mid-message, or too many: the message is spoilt */
                                c->fds_overflow = true;
                                safe_close(fds[i]);
                        } else
                                c->in_fds[c->n_in_fds++] = fds[i];
                }
        }
}

int vl_conn_read(vl_conn *c) {
        for (int rounds = 0; rounds < 4; rounds++) {
                if (c->in_len > VL_MESSAGE_MAX)
                        return -EMSGSIZE;
                /* Small at first (most calls are a few KiB): 200 idle clients stay cheap. */
                if (c->in_size - c->in_len < 4096) {
                        size_t size = c->in_size ? c->in_size * 2 : 8192;
                        if (size > VL_MESSAGE_MAX + 65536 + 1)
                                size = VL_MESSAGE_MAX + 65536 + 1;
                        if (size > c->in_size) {
                                char *p = realloc(c->in, size);
                                if (!p)
                                        return -ENOMEM;
                                c->in = p;
                                c->in_size = size;
                        }
                }
                size_t room = c->in_size - c->in_len - 1;
                if (room == 0)
                        return -EMSGSIZE;
                /* Only a read that starts a message may carry that message's fds: so never
                 * read past a NUL in one go when fds could follow (we read at most up to the
                 * end of the buffer; fds seen on a read are bound to its first byte). */
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(int) * VL_FDS_MAX)];
                } control;
                struct iovec iov = { c->in + c->in_len, room };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                                     .msg_controllen = sizeof control };
                ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return negative_errno();
                }
                if (n == 0) {
                        c->eof = true;
                        return 0;
                }
                take_cmsg_fds(c, &mh, c->in_len == 0);
                c->in_len += (size_t) n;
                c->in[c->in_len] = '\0';
                if (memchr(c->in + c->in_len - n, '\0', (size_t) n))
                        return 0; /* a whole message: let the caller handle it first */
        }
        return 0;
}

void vl_call_done(vl_call *call) {
        close_fds(call->fds, &call->n_fds);
        json_decref(call->msg);
        *call = (vl_call){};
}

int vl_call_take_fd(vl_call *call, size_t i) {
        if (i >= call->n_fds || call->fds[i] < 0)
                return -EBADF;
        int fd = call->fds[i];
        call->fds[i] = -EBADF;
        return fd;
}

int vl_conn_next(vl_conn *c, vl_call *ret, char *why, size_t why_size) {
        char *end = c->in_len ? memchr(c->in, '\0', c->in_len) : NULL;
        if (!end) {
                if (c->in_len > VL_MESSAGE_MAX) {
                        snprintf(why, why_size, "message longer than %d bytes", VL_MESSAGE_MAX);
                        return -EBADMSG;
                }
                return 0;
        }
        size_t len = (size_t) (end - c->in);
        vl_call call = {};
        int r = -EBADMSG;

        /* The message's fds are its own, whatever happens to it. */
        memcpy(call.fds, c->in_fds, sizeof(int) * c->n_in_fds);
        call.n_fds = c->n_in_fds;
        call.fds_overflow = c->fds_overflow;
        c->n_in_fds = 0;
        c->fds_overflow = false;

        json_error_t err;
        if (len > VL_MESSAGE_MAX)
                snprintf(why, why_size, "message longer than %d bytes", VL_MESSAGE_MAX);
        else if (!(call.msg = json_loadb(c->in, len, JSON_REJECT_DUPLICATES, &err)))
                snprintf(why, why_size, "not JSON: %s at byte %d", err.text, err.position);
        else if (!json_is_object(call.msg))
                snprintf(why, why_size, "a message must be a JSON object");
        else {
                const char *key;
                json_t *v;
                r = 0;
                json_object_foreach(call.msg, key, v) {
                        if (strcmp(key, "method") == 0) {
                                if (!json_is_string(v)) {
                                        snprintf(why, why_size, "'method' must be a string");
                                        r = -EBADMSG;
                                } else
                                        call.method = json_string_value(v);
                        } else if (strcmp(key, "parameters") == 0) {
                                if (!json_is_object(v) && !json_is_null(v)) {
                                        snprintf(why, why_size, "'parameters' must be an object");
                                        r = -EBADMSG;
                                } else if (json_is_object(v))
                                        call.parameters = v;
                        } else if (strcmp(key, "more") == 0 || strcmp(key, "oneway") == 0) {
                                if (!json_is_boolean(v)) {
                                        snprintf(why, why_size, "'%s' must be a boolean", key);
                                        r = -EBADMSG;
                                } else if (key[0] == 'm')
                                        call.more = json_is_true(v);
                                else
                                        call.oneway = json_is_true(v);
                        } else if (strcmp(key, "upgrade") == 0) {
                                if (json_is_true(v)) {
                                        snprintf(why, why_size, "'upgrade' is not supported");
                                        r = -EBADMSG;
                                }
                        } else {
                                snprintf(why, why_size, "unknown key '%.64s' in the call", key);
                                r = -EBADMSG;
                        }
                        if (r < 0)
                                break;
                }
                if (r == 0 && !call.method) {
                        snprintf(why, why_size, "the call has no 'method'");
                        r = -EBADMSG;
                }
                if (r == 0 && call.more && call.oneway) {
                        snprintf(why, why_size, "'oneway' and 'more' together");
                        r = -EBADMSG;
                }
                if (r == 0 && !call.parameters) {
                        json_t *empty = json_object();
                        json_object_set_new(call.msg, "parameters", empty);
                        call.parameters = empty;
                }
        }

        memmove(c->in, end + 1, c->in_len - len - 1);
        c->in_len -= len + 1;
        c->in[c->in_len] = '\0';
        if (r < 0) {
                vl_call_done(&call);
                return r;
        }
        *ret = call;
        return 1;
}

static int queue(vl_conn *c, const char *s, size_t len) {
        if (c->out_off > 0 && c->out_off == c->out_len && c->n_out_fds == 0)
                c->out_off = c->out_len = 0;
        if (c->out_len - c->out_off + len + 1 > VL_OUTPUT_MAX)
                return -ENOBUFS;
        if (c->out_len + len + 1 > c->out_size) {
                size_t size = (c->out_len + len + 1) * 2;
                char *p = realloc(c->out, size);
                if (!p)
                        return -ENOMEM;
                c->out = p;
                c->out_size = size;
        }
        memcpy(c->out + c->out_len, s, len);
        c->out[c->out_len + len] = '\0';
        c->out_len += len + 1;
        return 0;
}

int vl_conn_send(vl_conn *c, json_t *msg, const int *fds, size_t n_fds) {
        /* Every digit a double has: the wire carries values, it does not present them
         * (results are rounded to 9 digits where they are printed, result.c, client.c). */
        char *s = json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(17));
        if (!s)
                return -ENOMEM;
        int r = 0;
        if (n_fds > 0) {
                if (c->n_out_fds > 0 || n_fds > VL_FDS_MAX)
                        r = -EBUSY; /* one fd message in flight at a time */
                else
                        for (size_t i = 0; i < n_fds && r == 0; i++) {
                                int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
                                if (fd < 0)
                                        r = negative_errno();
                                else
                                        c->out_fds[c->n_out_fds++] = fd;
                        }
                c->out_fds_at = c->out_len;
        }
        if (r == 0)
                r = queue(c, s, strlen(s));
        free(s);
        if (r < 0 && n_fds > 0)
                close_fds(c->out_fds, &c->n_out_fds);
        return r;
}

int vl_conn_reply(vl_conn *c, json_t *parameters, bool continues) {
        json_t *m = json_object();
        if (!m) {
                json_decref(parameters);
                return -ENOMEM;
        }
        json_object_set_new(m, "parameters", parameters ? parameters : json_object());
        if (continues)
                json_object_set_new(m, "continues", json_true());
        int r = vl_conn_send(c, m, NULL, 0);
        json_decref(m);
        return r;
}

int vl_conn_error(vl_conn *c, const char *error, json_t *parameters) {
        json_t *m = json_object();
        if (!m) {
                json_decref(parameters);
                return -ENOMEM;
        }
        json_object_set_new(m, "error", json_string(error));
        json_object_set_new(m, "parameters", parameters ? parameters : json_object());
        int r = vl_conn_send(c, m, NULL, 0);
        json_decref(m);
        return r;
}

int vl_conn_flush(vl_conn *c) {
        while (c->out_off < c->out_len) {
                struct iovec iov = { c->out + c->out_off, c->out_len - c->out_off };
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(int) * VL_FDS_MAX)];
                } control;
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                bool with_fds = c->n_out_fds > 0 && c->out_off == c->out_fds_at;
                if (c->n_out_fds > 0 && c->out_off < c->out_fds_at)
                        iov.iov_len = c->out_fds_at - c->out_off; /* stop before the fd message */
                if (with_fds) {
                        memset(&control, 0, sizeof control);
                        mh.msg_control = &control;
                        mh.msg_controllen = CMSG_SPACE(sizeof(int) * c->n_out_fds);
                        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                        cm->cmsg_level = SOL_SOCKET;
                        cm->cmsg_type = SCM_RIGHTS;
                        cm->cmsg_len = CMSG_LEN(sizeof(int) * c->n_out_fds);
                        memcpy(CMSG_DATA(cm), c->out_fds, sizeof(int) * c->n_out_fds);
                }
                ssize_t n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return negative_errno();
                }
                if (with_fds && n > 0)
                        close_fds(c->out_fds, &c->n_out_fds);
                c->out_off += (size_t) n;
        }
        c->out_off = c->out_len = 0;
        return 0;
}

/* ---- blocking client helpers ---- */

int vl_send_call(int fd, json_t *msg, const int *fds, size_t n_fds) {
        vl_conn c = { .fd = fd };
        int r = vl_conn_send(&c, msg, fds, n_fds);
        while (r == 0 && vl_conn_has_output(&c)) {
                r = vl_conn_flush(&c);
                if (r == 0 && vl_conn_has_output(&c) &&
                    poll(&(struct pollfd){ .fd = fd, .events = POLLOUT }, 1, -1) < 0 && errno != EINTR)
                        r = negative_errno();
        }
        c.fd = -EBADF;
        vl_conn_done(&c);
        return r;
}

void vl_reader_done(vl_reader *r) {
        free(r->buf);
        *r = (vl_reader){};
}

int vl_read_reply(int fd, vl_reader *r, json_t **ret) {
        for (;;) {
                char *end = r->len ? memchr(r->buf, '\0', r->len) : NULL;
                if (end) {
                        size_t len = (size_t) (end - r->buf);
                        json_t *m = json_loadb(r->buf, len, JSON_REJECT_DUPLICATES, NULL);
                        memmove(r->buf, end + 1, r->len - len - 1);
                        r->len -= len + 1;
                        if (!m || !json_is_object(m)) {
                                json_decref(m);
                                return -EBADMSG;
                        }
                        *ret = m;
                        return 0;
                }
                if (r->len > VL_OUTPUT_MAX)
                        return -EMSGSIZE;
                if (r->size - r->len < 4096) {
                        size_t size = r->size ? r->size * 2 : 8192;
                        char *p = realloc(r->buf, size);
                        if (!p)
                                return -ENOMEM;
                        r->buf = p;
                        r->size = size;
                }
                ssize_t n = read(fd, r->buf + r->len, r->size - r->len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return -EAGAIN;
                        return negative_errno();
                }
                if (n == 0)
                        return -ECONNRESET;
                r->len += (size_t) n;
        }
}
