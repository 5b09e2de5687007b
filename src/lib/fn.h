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
        int out_fd;          /* write end of the output pipe (the parent's number; the child's is fixed) */
        int crash_fd;        /* write end of the crash-report pipe (likewise) */
        uint64_t output_max; /* OutputMax= */
        const char *comm;    /* forkserver: the program's name, to take back from the helper's */
} fn_child;

/*
 * In the function child, after its fds are placed and before its filter is loaded (the
 * plan's fn-prepare step): the process name and the crash handler, which a function's
 * filter may deny (prctl, sigaltstack, sigaction). Returns 0.
 */
int fn_child_prepare(void *arg);
/*
 * The function child's main, called by the plan's last step (after the cgroup, session,
 * signals, namespaces, rlimits, credentials, stdio, fds and the filter): fn, flush.
 * The output pipe is SETUP_FN_OUT_FD there. Returns the exit code (0).
 */
int fn_child_main(void *arg);
