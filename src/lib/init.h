/* SPDX-License-Identifier: MIT */
/* PrivatePIDs=: pid 1 of the run's pid namespace (see init.c). */
#pragma once

#include <stdbool.h>

struct spawn_credentials;

/*
 * In the child, which must be pid 1 of a new pid namespace: start pid 2, which goes on
 * with the set-up and execs the program. With pid2_fn, pid 2 shares our memory on a stack
 * of its own (clone-vm.c) and runs pid2_fn(pid2_arg), which execs or exits; where that is
 * not available (sanitized builds, clone3 refused, other architectures) or pid2_fn is
 * NULL, a fork, and 0 returns in pid 2. An errno on failure. Either way pid 2 goes on only
 * once pid 1 has dropped its privileges, and pid 1 serves only once pid 2 has exec'd or
 * died (in one memory they share one TLS: errno): it forwards signals to pid 2, reaps,
 * writes pid 2's wait status on errfd as a SPAWN_STEP_PIDNS_EXIT record when pid 2 ends,
 * and exits. pid 1 never returns.
 *
 * pid 1 needs no privilege after the fork, so it gives it up at once: with creds (the
 * run's user: corrald's caller, User=, DynamicUser=) it becomes that user, as pid 2 will;
 * in a user namespace of the run's own (userns) it drops the capabilities it has there.
 * Either way it is not dumpable, so the program (same uid) cannot ptrace it or open its
 * report pipe through /proc.
 */
int init_start(int errfd, const struct spawn_credentials *creds, bool userns, int (*pid2_fn)(void *arg),
               void *pid2_arg);
