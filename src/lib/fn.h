/* SPDX-License-Identifier: MIT */
/*
 * Running a C function as a run (corral_run_fn): what the child needs, shared by the
 * two start methods. fn.c owns the parent's side (pipes, output, result) and the
 * child's main; forkserver.c forks the same child main in its helper.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "corral.h"

typedef struct fn_child {
        corral_fn fn;
        const void *in;
        size_t in_len;
        int out_fd;          /* write end of the output pipe */
        int crash_fd;        /* write end of the crash-report pipe */
        uint64_t output_max; /* OutputMax= */
        const char *comm;    /* forkserver: the program's name, to take back from the helper's */
} fn_child;

/*
 * The function child's main, called by spawn.c after the set-up (cgroup, session,
 * signals, rlimits, stdio, fds): crash handler, fn, flush. Returns the exit code (0).
 */
int fn_child_main(void *arg);
