/* SPDX-License-Identifier: MIT */
/*
 * cr-varlink: a deliberately dumb varlink client for the service suites: it sends
 * exactly what it is told (valid or not) and prints every reply, one per line.
 *
 *   cr-varlink [OPTIONS] SOCKET MESSAGE
 *     --fd N         attach fd N to the message (SCM_RIGHTS; repeatable)
 *     --no-nul       do not end the message with NUL, then shut the write side
 *                    (a truncated message: the daemon sees EOF in mid-message)
 *     --pad N        append N spaces inside the message before its last '}'
 *     --stall SECS   after sending, wait SECS before reading (a client that stalls)
 *     --split        send the message in two writes, 200 ms apart
 *     --half SECS    send the first half only, wait SECS, exit (a client that stalls)
 *     --hold         after the last reply, keep the connection open until stdin EOF
 *
 * Exit: 0 the last reply had no error, 1 it was an error, 4 the connection was closed
 * without a final reply, 2 bad arguments, 3 could not connect or send.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"

static const char usage[] = "[--fd N]... [--no-nul] [--pad N] [--stall SECS] [--split] [--half SECS] [--hold] SOCKET MESSAGE";

int main(int argc, char *argv[]) {
        int fds[16], n_fds = 0;
        long pad = 0;
        double stall = 0, half = 0;
        int nul = 1, split = 0, hold = 0, i;

        prog_init(argc, argv);

        for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
                if (strcmp(argv[i], "--fd") == 0 && i + 1 < argc && n_fds < 16)
                        fds[n_fds++] = atoi(argv[++i]);
                else if (strcmp(argv[i], "--no-nul") == 0)
                        nul = 0;
                else if (strcmp(argv[i], "--pad") == 0 && i + 1 < argc)
                        pad = atol(argv[++i]);
                else if (strcmp(argv[i], "--stall") == 0 && i + 1 < argc)
                        stall = atof(argv[++i]);
                else if (strcmp(argv[i], "--half") == 0 && i + 1 < argc)
                        half = atof(argv[++i]);
                else if (strcmp(argv[i], "--split") == 0)
                        split = 1;
                else if (strcmp(argv[i], "--hold") == 0)
                        hold = 1;
                else
                        usage_exit(usage);
        }
        if (argc - i != 2)
                usage_exit(usage);
        const char *path = argv[i], *msg = argv[i + 1];

        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || connect(s, (struct sockaddr *) &sa, sizeof sa) < 0) {
                fprintf(stderr, "cr-varlink: connect %s: %s\n", path, strerror(errno));
                return 3;
        }

        size_t len = strlen(msg);
        char *buf = malloc(len + (size_t) pad + 2);
        if (!buf)
                return 3;
        const char *brace = strrchr(msg, '}');
        size_t head = pad > 0 && brace ? (size_t) (brace - msg) : len;
        memcpy(buf, msg, head);
        memset(buf + head, ' ', (size_t) pad);
        memcpy(buf + head + pad, msg + head, len - head);
        size_t total = len + (size_t) pad;
        if (nul)
                buf[total++] = '\0';

        size_t first = split || half > 0 ? total / 2 : total;
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(sizeof(int) * 16)];
        } control;
        struct iovec iov = { buf, first };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (n_fds > 0) {
                memset(&control, 0, sizeof control);
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t) n_fds);
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t) n_fds);
                memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t) n_fds);
        }
        ssize_t n = sendmsg(s, &mh, MSG_NOSIGNAL);
        if (n < 0) {
                fprintf(stderr, "cr-varlink: send: %s\n", strerror(errno));
                return 3;
        }
        size_t sent = (size_t) n;
        if (half > 0) {
                usleep((useconds_t) (half * 1e6));
                return 0;
        }
        if (split)
                usleep(200000);
        while (sent < total) {
                n = send(s, buf + sent, total - sent, MSG_NOSIGNAL);
                if (n < 0) {
                        /* the daemon may close on an oversized message while we still send */
                        if (errno == EPIPE || errno == ECONNRESET) {
                                printf("closed\n");
                                return 4;
                        }
                        fprintf(stderr, "cr-varlink: send: %s\n", strerror(errno));
                        return 3;
                }
                sent += (size_t) n;
        }
        if (!nul)
                shutdown(s, SHUT_WR);
        if (stall > 0)
                usleep((useconds_t) (stall * 1e6));

        char in[65536];
        size_t have = 0;
        int rc = 4;
        for (;;) {
                n = read(s, in + have, sizeof in - 1 - have);
                if (n <= 0)
                        break;
                have += (size_t) n;
                char *end;
                while ((end = memchr(in, '\0', have))) {
                        size_t m = (size_t) (end - in);
                        printf("%.*s\n", (int) m, in);
                        fflush(stdout);
                        int continues = memmem(in, m, "\"continues\":true", 16) != NULL;
                        int error = memmem(in, m, "\"error\":", 8) != NULL;
                        memmove(in, end + 1, have - m - 1);
                        have -= m + 1;
                        if (!continues) {
                                rc = error ? 1 : 0;
                                goto done;
                        }
                }
                if (have == sizeof in - 1)
                        break;
        }
        printf("closed\n");
done:
        if (hold) {
                char c;
                while (read(0, &c, 1) > 0)
                        ;
        }
        close(s);
        return rc;
}
