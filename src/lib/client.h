/* SPDX-License-Identifier: MIT */
/* A run through corrald (client.c), as job.c drives it behind a corral_job. */
#pragma once

#include <stdbool.h>

#include <sys/types.h>

#include "corral.h"

typedef struct client_run client_run;

/* Connect, send Run, wait for its first reply: 0 and *ret once the run started (or
 * already ended), -errno and a diag naming the daemon's error otherwise. */
int client_run_start(const corral_client *c, const corral_policy *p, char *const argv[], const corral_spawn_attr *a,
                     client_run **ret, corral_diag *diag);
/* The socket: readable when dispatch has work. */
int client_run_fd(const client_run *run);
/* A reply is already here (read along with the first one, or the run ended at once): the
 * socket will not wake the caller for it, so the job must be readable by other means. */
bool client_run_pending(const client_run *run);
pid_t client_run_pid(const client_run *run);
corral_backend client_run_backend(const client_run *run);
/* Non-blocking: 1 and *res once the result came, 0 not yet, -errno (the daemon went away). */
int client_run_dispatch(client_run *run, corral_result *res);
/* The result object as the daemon sent it, dumped like corral_result_to_json(); -ENODATA
 * if none came. */
int client_run_result_json(const client_run *run, char **ret);
/* Kill on a second connection (blocking, one round trip). */
int client_run_interrupt(client_run *run);
/* Closes the connection: corrald stops a run whose client went away. */
client_run *client_run_free(client_run *run);
