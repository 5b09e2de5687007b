/* SPDX-License-Identifier: MIT */
/* What every verb of the CLI shares: one-line errors, usage errors, option-to-policy. */
#pragma once

#include "corral.h"
#include "macro.h"

/* SPEC: corral's own failures and bad input exit with 125 (like timeout(1)). */
#define CLI_EXIT_FAILURE 125

_printf_(1, 2) void cli_error(const char *fmt, ...);
/* Apply one policy property; prints the one-line error itself. Returns 0 or -EINVAL. */
int cli_policy_set(corral_policy *p, const char *key, const char *value);
/* Policy from the environment (CORRAL_CGROUP_BASE); options given later override it. */
int cli_policy_from_env(corral_policy *p);

int verb_run(int argc, char *argv[]);
int verb_doctor(int argc, char *argv[]);
int verb_policy(int argc, char *argv[]);
