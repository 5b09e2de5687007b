/* SPDX-License-Identifier: MIT */
/*
 * The only file of corrald that calls libsystemd: sd_listen_fds() for socket
 * activation (the fds are shared with PID 1, so they are never shut down, only
 * closed) and sd_notify() for Type=notify readiness and status.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "systemd.h"

int sysd_activation_fds(int fds[SYSD_MAX_LISTEN], bool listening[SYSD_MAX_LISTEN]) {
        int n = sd_listen_fds(1);
        if (n <= 0)
                return n < 0 ? n : 0;
        int k = 0;
        for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
                if (sd_is_socket_unix(fd, SOCK_STREAM, -1, NULL, 0) <= 0)
                        return -EPROTOTYPE;
                if (k >= SYSD_MAX_LISTEN)
                        return -E2BIG;
                int acc = 0;
                socklen_t len = sizeof acc;
                if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0)
                        return -errno;
                fds[k] = fd;
                listening[k] = acc != 0;
                k++;
        }
        return k;
}

void sysd_ready(const char *status) {
        (void) sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void sysd_stopping(const char *status) {
        (void) sd_notifyf(0, "STOPPING=1\nSTATUS=%s", status);
}

void sysd_status(const char *status) {
        (void) sd_notifyf(0, "STATUS=%s", status);
}
