#!/bin/sh
# SPDX-License-Identifier: MIT
#
# TasksMax on cgroup2: pids.max refuses forks past the limit, pids.events counts
# the refusals, and a refusal never changes the status by itself.

. "$(dirname "$0")/../../integration/lib.sh"

require_rung cgroup2
plan 3

begin "-n 16 with 100 forks: refusals counted, status still ok"
cr_run -n 16 -- "$P/cr-forks" 100
expect_exit 0
expect_json 'status == ok' 'exit_code == 0' 'enforcement.tasks == cgroup' \
        'evidence.pids_max > 0' 'pids_limit_hits > 0' 'pids_peak <= 16' 'pids_peak >= 2'
n=$(sed -n 's/^cr-forks: \([0-9]*\) of 100 forks succeeded$/\1/p' "$T_DIR/stdout")
if [ -z "$n" ]; then
        fail "cr-forks did not report its count"
elif [ "$n" -gt 15 ]; then
        fail "$n forks succeeded under pids.max 16 (the program itself is one task)"
fi

begin "-n 1: not even one fork"
cr_run -n 1 -- "$P/cr-forks" 5
expect_exit 0
expect_json 'status == ok' 'evidence.pids_max > 0'
expect_stdout_contains "cr-forks: 0 of 5 forks succeeded"

begin "pids_peak counts 10 sleeping children and their parent"
cr_run -- "$P/cr-forks" --hold 0.5 10
expect_exit 0
expect_json 'status == ok' 'pids_peak >= 11' 'pids_limit_hits == 0'

finish
