/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: corrald's front door, the varlink framing (src/lib/varlink.c) that every
 * client message passes before methods.c sees it. The input is what a client writes on
 * its connection (after a first byte that picks the size of its writes, so partial
 * messages and several messages per read both happen); the server side reads it as
 * corrald does (vl_conn_read, then vl_conn_next until it has nothing or refuses).
 * Checks: vl_conn_next gives 1, 0 or -EBADMSG with a reason; a call it accepts has a
 * string method, an object for parameters and never both more and oneway; and every
 * accepted call's parameters, echoed back with vl_conn_reply, come out on the client side
 * (vl_read_reply) as one JSON object per reply holding the same parameters, in order.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "varlink.h"

typedef struct state {
        vl_conn conn;
        json_t *sent;    /* parameters of the accepted calls, in order */
        bool refused;    /* vl_conn_next said -EBADMSG: corrald closes the connection */
} state;

static void drain(state *st) {
        while (!st->refused) {
                vl_call call = {};
                char why[256] = "";
                int r = vl_conn_next(&st->conn, &call, why, sizeof why);
                fuzz_check(r == 1 || r == 0 || r == -EBADMSG, "vl_conn_next returned %d", r);
                if (r == 0)
                        return;
                if (r < 0) {
                        fuzz_check(why[0] != '\0', "refused without a reason");
                        st->refused = true;
                        return;
                }
                fuzz_check(call.method != NULL, "a call without a method");
                fuzz_check(json_is_object(call.parameters), "parameters are not an object");
                fuzz_check(!(call.more && call.oneway), "more and oneway together");
                fuzz_check(call.n_fds == 0, "fds that nobody sent");
                json_array_append(st->sent, call.parameters);
                fuzz_check(vl_conn_reply(&st->conn, json_deep_copy(call.parameters), call.more) == 0,
                           "vl_conn_reply failed");
                vl_call_done(&call);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1 || size > 65536)
                return 0;
        size_t chunk = (size_t) data[0] + 1;
        data++;
        size--;

        int sv[2];
        fuzz_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s", strerror(errno));
        int bufsize = 1 << 20;
        (void) setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
        (void) setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
        state st = { .sent = json_array() };
        fuzz_check(vl_conn_init(&st.conn, sv[1], false) == 0, "vl_conn_init");

        for (size_t off = 0; off < size && !st.refused;) {
                size_t n = size - off < chunk ? size - off : chunk;
                ssize_t k = write(sv[0], data + off, n);
                fuzz_check(k > 0, "write: %s", strerror(errno));
                off += (size_t) k;
                int r = vl_conn_read(&st.conn);
                fuzz_check(r == 0 || r == -EMSGSIZE, "vl_conn_read returned %d", r);
                drain(&st);
                fuzz_check(vl_conn_flush(&st.conn) == 0, "vl_conn_flush");
        }
        shutdown(sv[0], SHUT_WR);
        for (int i = 0; i < 64 && !st.conn.eof && !st.refused; i++) {
                fuzz_check(vl_conn_read(&st.conn) == 0, "vl_conn_read at the end");
                drain(&st);
        }
        fuzz_check(vl_conn_flush(&st.conn) == 0, "vl_conn_flush");
        /* The server closes; the client reads every reply. */
        vl_conn_done(&st.conn);

        vl_reader rd = {};
        for (size_t i = 0; i < json_array_size(st.sent); i++) {
                json_t *m = NULL;
                int r = vl_read_reply(sv[0], &rd, &m);
                fuzz_check(r == 0, "reply %zu of %zu: %d", i, json_array_size(st.sent), r);
                fuzz_check(json_equal(json_object_get(m, "parameters"), json_array_get(st.sent, i)),
                           "reply %zu does not carry the call's parameters", i);
                json_decref(m);
        }
        json_t *extra = NULL;
        fuzz_check(vl_read_reply(sv[0], &rd, &extra) == -ECONNRESET, "a reply nobody asked for");
        vl_reader_done(&rd);
        close(sv[0]);
        json_decref(st.sent);
        return 0;
}
