/* SPDX-License-Identifier: MIT */
/*
 * cr-notify: stand in for systemd's notification socket (sd_notify) in tests.
 *
 *   cr-notify PATH SECONDS
 *
 * Binds an AF_UNIX datagram socket at PATH and prints every datagram that arrives
 * (newlines as they are), until one contains READY=1 or SECONDS pass.
 * Exit: 0 READY=1 seen, 1 time-out, 2 bad arguments, 3 cannot bind.
 */
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common.h"

static const char usage[] = "PATH SECONDS";

int main(int argc, char *argv[]) {
        double secs;
        prog_init(argc, argv);
        if (argc != 3 || parse_seconds(argv[2], &secs) < 0)
                usage_exit(usage);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
        int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        unlink(argv[1]);
        if (s < 0 || bind(s, (struct sockaddr *) &sa, sizeof sa) < 0) {
                say("bind %s: %s", argv[1], strerror(errno));
                return 3;
        }
        double end = now_s(CLOCK_MONOTONIC) + secs;
        for (;;) {
                double left = end - now_s(CLOCK_MONOTONIC);
                if (left <= 0)
                        return 1;
                if (poll(&(struct pollfd){ s, POLLIN, 0 }, 1, (int) (left * 1000) + 1) <= 0)
                        continue;
                char buf[4096];
                ssize_t n = recv(s, buf, sizeof buf - 1, 0);
                if (n <= 0)
                        continue;
                buf[n] = '\0';
                printf("%s\n", buf);
                fflush(stdout);
                if (strstr(buf, "READY=1"))
                        return 0;
        }
}
