/* SPDX-License-Identifier: MIT */
/*
 * The forkserver (StartMethod=forkserver): a clean copy of the program, forked by
 * corral_forkserver_start() before the caller made threads, that forks function
 * children on request and reaps them for us. forkserver.c owns the helper and its
 * protocol; fn.c asks it for children.
 */
#pragma once

#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "fn.h"
#include "spawn.h"

/* The helper's pid while it runs (and this process started it), else 0. */
pid_t forkserver_pid(void);

/*
 * Ask the server for a function child set up as req describes (cgroup, rlimits,
 * stdio, the two kept fds) that runs the function of child, with its input sent in
 * input_fd (a sealed memfd, or -1 for no input). Blocks until the child finished its
 * set-up, like spawn_start(). Returns 1 with the child's pid and *ret_channel, the fd
 * that turns readable when the server has reaped the child (forkserver_reap() reads it);
 * 0 when the set-up failed (*ret_failure); -errno when the server cannot be asked.
 */
int forkserver_spawn(const spawn_request *req, const fn_child *child, int input_fd, pid_t *ret_pid,
                     int *ret_channel, spawn_failure *ret_failure);

/*
 * The exit status and rusage the server sent on channel, without blocking: 0, -EAGAIN
 * when nothing is there yet, -EPIPE when the server went away without saying.
 */
int forkserver_reap(int channel, siginfo_t *ret_info, struct rusage *ret_usage);
