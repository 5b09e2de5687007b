/* SPDX-License-Identifier: MIT */
/* PrivatePIDs=: pid 1 of the run's pid namespace (see init.c). */
#pragma once

/*
 * In the child, which must be pid 1 of a new pid namespace: fork; return 0 in the fork
 * (pid 2, which goes on with the set-up and execs the program), an errno on failure.
 * pid 1 never returns: it forwards signals to pid 2, reaps, writes pid 2's wait status
 * on errfd as a SPAWN_STEP_PIDNS_EXIT record when pid 2 ends, and exits.
 */
int init_start(int errfd);
