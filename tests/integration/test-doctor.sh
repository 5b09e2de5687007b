#!/bin/sh
# SPDX-License-Identifier: MIT
#
# `corral doctor`: the rung auto would pick and why each higher one was skipped.
# On our hybrid hosts the cgroup2 mount has no memory, pids or cpu controllers:
# doctor picks cgroup2-core and names all three. In the VM it picks cgroup2.
# doctor does not depend on --backend: the same checks run for every rung.

. "$(dirname "$0")/lib.sh"

plan 3

begin "corral doctor names the chosen rung and why the others were skipped"
cr_exec doctor
cat "$T_DIR/stdout" "$T_DIR/stderr" >"$T_DIR/all"
if [ "$CR_IN_VM" = 1 ]; then
        expect_exit 0
        grep -q cgroup2 "$T_DIR/all" || fail "doctor does not mention cgroup2"
else
        [ "$CR_EXIT" = 0 ] && fail "doctor exits 0 although cgroup2 is not usable here"
        [ "$CR_EXIT" = 125 ] && fail "doctor exits 125 (internal error)"
        grep -q cgroup2-core "$T_DIR/all" || fail "doctor does not name the cgroup2-core rung"
        for c in memory pids cpu; do
                grep -q "$c" "$T_DIR/all" || fail "doctor does not name the missing '$c' controller"
        done
fi

begin "corral doctor --json"
cr_exec doctor --json
expect_json 'rungs.rlimit.usable == true' 'rungs.rlimit.reason == null' 'cgroup_base != null'
if [ "$CR_IN_VM" = 1 ]; then
        expect_exit 0
        expect_json 'chosen == cgroup2' 'rungs.cgroup2.usable == true' 'rungs.cgroup2.reason == null'
else
        [ "$CR_EXIT" = 0 ] && fail "doctor --json exits 0 although cgroup2 is not usable here"
        expect_json 'chosen == cgroup2-core' 'rungs.cgroup2.usable == false' \
                'rungs.cgroup2.reason ~ memory' 'rungs.cgroup2.reason ~ pids' 'rungs.cgroup2.reason ~ cpu' \
                'rungs.cgroup2-core.usable == true' 'rungs.cgroup2-core.reason == null'
fi

begin "doctor's cgroup_base is a cgroup v2 directory"
cr_exec doctor --json
base=$(json_get cgroup_base)
if [ -z "$base" ] || [ "$base" = null ]; then
        fail "no cgroup_base"
elif [ -f "$base/cgroup.procs" ] || [ -f "/sys/fs/cgroup$base/cgroup.procs" ] ||
        [ -f "/sys/fs/cgroup/unified$base/cgroup.procs" ]; then
        :
else
        fail "cgroup_base '$base' is not a cgroup v2 directory"
fi

finish
