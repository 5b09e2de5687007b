/* SPDX-License-Identifier: MIT */
/*
 * Placement: finding or making the cgroup base where run groups get memory, pids and
 * cpu, before the backend ladder runs (corral_place()).
 */
#pragma once

#include <stdbool.h>

#include "corral.h"

/* This process's placement, if corral_place() ran (result evidence, doctor). */
bool place_current(corral_placement *ret);
