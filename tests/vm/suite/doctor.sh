#!/bin/sh
# SPDX-License-Identifier: MIT
#
# corral doctor in the VM: the delegated subtree has memory, pids and cpu, so
# the cgroup2 rung is usable, chosen, and doctor exits 0.

. "$(dirname "$0")/../../integration/lib.sh"

require_rung cgroup2
plan 2

begin "corral doctor says cgroup2 and exits 0"
cr_exec doctor
expect_exit 0
grep -q cgroup2 "$T_DIR/stdout" || fail "doctor's output does not mention cgroup2"

begin "corral doctor --json: cgroup2 chosen, base in the delegated subtree"
cr_exec doctor --json
expect_exit 0
expect_json 'chosen == cgroup2' 'rungs.cgroup2.usable == true' 'rungs.cgroup2.reason == null' \
        'rungs.cgroup2-core.usable == true' 'rungs.rlimit.usable == true' 'cgroup_base ~ corral-test'

finish
