/* SPDX-License-Identifier: MIT */
/*
 * Placement: finding or making the cgroup base where run groups get memory, pids and
 * cpu, before the backend ladder runs (corral_place()).
 */
#pragma once

#include <stdbool.h>

#include "corral.h"

#include "cgroup.h"
#include "policy.h"

/* This process's placement, if corral_place() ran (result evidence, doctor). */
bool place_current(corral_placement *ret);

/*
 * The cgroup rungs' base (backend-cgroup.c's find_base): placement runs first when the
 * policy asks for a base (CGroupBase=); otherwise the process's placement, if the
 * program ran corral_place() (the CLI and corrald do), left it in <base>/supervisor,
 * and the base lookup finds it there. An embedder that never calls corral_place() is
 * never moved: it gets rule 1, as before placement existed.
 */
int place_find_base(const corral_policy *p, bool controllers, cg_base **ret, char why[static CG_WHY_MAX]);
