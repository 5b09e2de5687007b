/* SPDX-License-Identifier: MIT */
/*
 * The process-wide list of live jobs. A subreaper inherits every run's escaped
 * descendants, so a backend that finds a tree through /proc must know which of this
 * process's children are other jobs' (or the forkserver) and never its to kill or reap.
 */
#pragma once

#include <stdbool.h>

#include "rlimit.h"

typedef struct corral_job corral_job;

void live_add(corral_job *j);
void live_remove(corral_job *j); /* safe when not added */
/* The main pids of every other live job, and the forkserver's. */
void live_mains(const corral_job *self, pid_list *ret);
/* No other live job has a tree that only /proc can find (no run group). */
bool live_sole_uncontained(const corral_job *self);
/* Reap this process's dead children that belong to no live job (a subreaper inherits a
 * run's dead orphans; they would linger as zombies). */
void live_reap_zombie_orphans(const corral_job *self);
