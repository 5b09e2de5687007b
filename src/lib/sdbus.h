/* SPDX-License-Identifier: MIT */
/*
 * systemd over D-Bus: a transient scope with Delegate=yes holding this process.
 * The only file that talks to libsystemd's sd-bus (loaded with dlopen on first use).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define SDBUS_WHY_MAX 512

/*
 * Is a service manager there to ask? As root: systemd is PID 1 (/run/systemd/system).
 * Otherwise: the user's manager ($XDG_RUNTIME_DIR/systemd/private or the user bus).
 * Cheap: a stat or two, no connection.
 */
bool sdbus_manager_reachable(void);

/*
 * Ask the manager (system manager as root, the user's manager otherwise) for a transient
 * scope "corral-<pid>-<rand>.scope" with Delegate=yes holding this process, and wait
 * until the job is done: on return this process is in the scope's cgroup. The scope
 * ends when its last process does. ret_unit gets the unit's name.
 */
int sdbus_start_scope(char *ret_unit, size_t unit_size, char why[static SDBUS_WHY_MAX]);
