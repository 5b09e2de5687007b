/* SPDX-License-Identifier: MIT */
/* corrald's use of libsystemd: socket activation and readiness (sd-daemon). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define SYSD_MAX_LISTEN 8

/*
 * Sockets systemd (or systemd-socket-activate) passed us: listening or already
 * connected AF_UNIX stream sockets (varlinkctl's exec: hands over a connected one).
 * Returns how many (0: not activated), their fds and whether each is listening;
 * clears LISTEN_* so that no run inherits them.
 */
int sysd_activation_fds(int fds[SYSD_MAX_LISTEN], bool listening[SYSD_MAX_LISTEN]);

/* READY=1, STOPPING=1, STATUS=... to $NOTIFY_SOCKET; a no-op without one. */
void sysd_ready(const char *status);
void sysd_stopping(const char *status);
void sysd_status(const char *status);
