#!/bin/sh
# SPDX-License-Identifier: MIT
#
# cgroup v2 facts through corral's own code: the run group corral creates holds
# the limits that were asked for, sits next to the supervisor group in the
# delegated subtree, and is removed after every run, whatever its ending.

. "$(dirname "$0")/../../integration/lib.sh"

require_rung cgroup2
plan 5

MIB=1048576
cg_snapshot

begin "-m 64M -n 32 --cpus 0.5: memory.max, pids.max and cpu.max of the run group"
cr_run -m 64M -n 32 --cpus 0.5 -- "$P/cr-cgpath"
expect_exit 0
expect_json 'status == ok' 'backend == cgroup2' 'precise == true' 'enforcement.memory == cgroup' \
        'enforcement.tasks == cgroup' 'enforcement.cpu_quota == cgroup' \
        "evidence.memory_max_bytes == $((64 * MIB))"
v=$(cgpath_value memory.max)
[ "$v" = $((64 * MIB)) ] || fail "memory.max is '$v', expected $((64 * MIB))"
v=$(cgpath_value memory.swap.max)
[ "$v" = 0 ] || fail "memory.swap.max is '$v', expected 0"
v=$(cgpath_value memory.oom.group)
[ "$v" = 1 ] || fail "memory.oom.group is '$v', expected 1"
v=$(cgpath_value pids.max)
[ "$v" = 32 ] || fail "pids.max is '$v', expected 32"
v=$(cgpath_value cpu.max)
# "QUOTA PERIOD": any period, as long as the share is one half of a CPU
echo "$v" | awk '{ exit !($1 != "max" && $2 > 0 && $1 / $2 == 0.5) }' ||
        fail "cpu.max is '$v', expected a quota of half the period"
group=$(cgpath_dir)
cgroup=$(cgpath_value cgroup)

begin "the run group is a run-* sibling of the supervisor group and is gone afterwards"
case $cgroup in
*/corral-test/run-*) ;;
*) fail "the program ran in '$cgroup', not in corral-test/run-*" ;;
esac
[ -n "$group" ] || fail "cr-cgpath found no group directory"
[ -n "$group" ] && [ -d "$group" ] && fail "$group is still there after corral returned"

begin "without limits the group has none either"
cr_run -- "$P/cr-cgpath"
expect_exit 0
expect_json 'status == ok' 'backend == cgroup2'
for f in memory.max pids.max; do
        v=$(cgpath_value $f)
        [ "$v" = max ] || fail "$f is '$v', expected max"
done
v=$(cgpath_value cpu.max)
case $v in max*) ;; *) fail "cpu.max is '$v', expected max" ;; esac
[ -d "$(cgpath_dir)" ] && fail "$(cgpath_dir) is still there after corral returned"

begin "runs that fail, time out, hit the memory limit or are interrupted remove their group"
cr_run -m 64M -- /nonexistent/cr-no-such-program
expect_exit 127
cr_run -m 64M -t "$((60 * CR_SLOW))s" -- "$P/cr-alloc" 1024
expect_exit 137
cr_run -t 1s -- "$P/cr-exit" --sleep 600
expect_exit 124
cr_run -t 1s -- "$P/cr-tree" "$T_DIR/pids"
expect_exit 124
cr_run_bg -- "$P/cr-graceful" --ready "$T_DIR/ready" "$T_DIR/cleaned"
wait_for_file "$T_DIR/ready" || fail "cr-graceful never became ready"
kill -INT "$CR_BG_PID"
cr_wait_bg
expect_exit 130

begin "no run-* group is left under $CR_CG_BASE"
left=$(cg_leftovers)
[ -z "$left" ] || fail "left behind: $(echo "$left" | tr '\n' ' ')"

finish
