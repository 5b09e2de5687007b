/* SPDX-License-Identifier: MIT */
/*
 * PrivateNetwork=: network namespaces with only loopback, up, made in the parent (libnl
 * stays in net.c) and joined by the child with setns().
 */
#pragma once

#include <stdbool.h>

#define NET_WHY_MAX 128

/* A new namespace with lo up: an fd on it (CLOEXEC). -errno with why. */
int net_ns_new(int *ret_fd, char *why);
/* 1 when the namespace has exactly one link, lo, up; 0 when not; -errno. */
int net_ns_pristine(int fd, char *why);

/*
 * A namespace for a run: from the pool when one is there (*ret_reused), else new. Give
 * it back with net_ns_put() once the run's tree is gone: reusable only when nothing the
 * run did can have changed it (the run never had CAP_NET_ADMIN there: it ran under
 * another uid without capabilities); it is checked to be pristine again before reuse.
 * Anything else is closed, and the kernel destroys the namespace.
 */
int net_ns_get(int *ret_fd, bool *ret_reused, char *why);
void net_ns_put(int fd, bool reusable);

/* In the child, in a network namespace it just made (the user-namespace path): lo up,
 * with an ioctl instead of libnl (no allocation). 0 or an errno. */
int net_child_lo_up(void);
