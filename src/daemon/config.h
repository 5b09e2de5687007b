/* SPDX-License-Identifier: MIT */
/*
 * corrald.conf: systemd-style "[Section]" and "Key=Value" lines.
 *
 *   [Daemon]          Connections= (1024), Jobs= (512): the daemon's own bounds (each
 *                     running job holds its client's connection)
 *   [Quota]           caps for every caller without a more specific section
 *   [User NAME|UID]   caps for one user (replaces [Group]/[Quota] keys it sets)
 *   [Group NAME|GID]  caps for members (primary or supplementary); several matching
 *                     groups: the most generous value of each key
 *
 * Quota keys: Jobs= (running at once), MemoryMax= (largest per run), MemoryMaxTotal=
 * (sum of MemoryMax over the user's running jobs), TasksMax=, RuntimeMaxSec=.
 * root has no caps unless a [User root] section says so.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CONFIG_UNSET (UINT64_MAX - 1) /* not CORRAL_INFINITY: a section may say "infinity" */

typedef struct quota {
        uint64_t jobs, memory_max, memory_total, tasks_max, runtime_max_usec; /* CORRAL_INFINITY: none */
} quota;

typedef struct quota_rule {
        enum { RULE_USER, RULE_GROUP } kind;
        uint32_t id;
        quota q; /* CONFIG_UNSET for keys the section does not set */
} quota_rule;

typedef struct config {
        uint64_t max_connections, max_jobs;
        quota defaults;
        quota_rule *rules;
        size_t n_rules;
} config;

/* Parse path; a missing file is the defaults when !required. -EINVAL with why = "file:line: ...". */
int config_load(const char *path, bool required, config *ret, char *why, size_t why_size);
void config_done(config *c);

/* The caps for a caller. */
void config_quota_for(const config *c, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, quota *ret);
