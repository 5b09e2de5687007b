#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Placement on a systemd host (rule 2), from a login session: root asks the system
# manager, an unprivileged user their own user manager, for a transient scope with
# Delegate=yes holding corral; runs get the cgroup2 rung there, precise, and neither
# the scope nor a run group outlives corral. Run by tests/vm/systemd/run as root and
# as 'tester', each through `runuser -l` (a logind session).

. /corral/tests/integration/lib.sh

MIB=1048576
limit=$((64 * MIB))
if [ "$(id -u)" = 0 ]; then who=root; sysctl_user=; else who=user; sysctl_user=--user; fi

plan 7
diag "as $(id -un) (uid $(id -u)), cgroup $(sed -n 's/^0:://p' /proc/self/cgroup), XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-unset}"

# corral scopes of this manager (and, for the user, of the system manager too)
corral_units() {
        systemctl $sysctl_user list-units --all --plain --no-legend 'corral*' 2>&1
        [ -n "$sysctl_user" ] && systemctl list-units --all --plain --no-legend 'corral*' 2>&1
        return 0
}
# corral scopes or run groups left anywhere in the cgroup tree
corral_groups() {
        find /sys/fs/cgroup -depth -type d \( -name 'corral-*.scope' -o -name 'run-*' \) 2>/dev/null
}
# wait until systemd has stopped and collected every corral scope (it notices an empty
# cgroup asynchronously); print what is left after the wait
wait_gone() {
        _t=0
        while [ -n "$(corral_units)$(corral_groups)" ] && [ $_t -lt $((10 * CR_SLOW)) ]; do
                sleep 0.5
                _t=$((_t + 1))
        done
        corral_units
        corral_groups
}

left=$(wait_gone)
[ -z "$left" ] || diag "before the first test point, left by an earlier one: $left"

begin "$who: corral doctor takes rule 2 (a systemd scope) and the cgroup2 rung"
cr_exec doctor --json
expect_exit 0
expect_json 'chosen == cgroup2' 'rungs.cgroup2.usable == true' 'placement.rule == systemd' \
        'placement.rule_number == 2' 'placement.unit ~ corral-' 'cgroup_base ~ .scope'

begin "$who: corral run -m 64M: the run group is in corral's own delegated scope"
cr_run -m 64M -- "$P/cr-cgpath"
expect_exit 0
expect_json 'status == ok' 'backend == cgroup2' 'precise == true' 'enforcement.memory == cgroup' \
        'evidence.placement.rule == systemd' 'evidence.placement.base ~ .scope'
cg=$(cgpath_value cgroup)
case $cg in
*/corral-*.scope/run-*) ;;
*) fail "the run's cgroup is '$cg', not a run-* group of a corral-*.scope" ;;
esac
if [ "$who" = user ]; then
        case $cg in */user@"$(id -u)".service/*) ;; *) fail "'$cg' is not under the user's manager" ;; esac
fi
[ "$(cgpath_value memory.max)" = $limit ] || fail "memory.max is '$(cgpath_value memory.max)', expected $limit"

begin "$who: the memory hog under -m 64M is memory_limit, peak <= the limit (+ what the kernel force-charges)"
cr_run -m 64M -t "$((60 * CR_SLOW))s" -- "$P/cr-alloc" 1024
expect_exit 137
expect_json 'status == memory_limit' 'backend == cgroup2' 'precise == true' 'enforcement.memory == cgroup' \
        'evidence.limit_hit == MemoryMax' 'evidence.oom_kill > 0' "memory_peak_bytes <= $((limit + CR_MEMCG_FORCED))" \
        "memory_peak_bytes >= $((limit / 2))" 'evidence.placement.rule == systemd'

begin "$who: -n 8: the fork bomb is capped by pids.max of the run group"
cr_run -n 8 -t "$((30 * CR_SLOW))s" -- "$P/cr-forks" 64
expect_json 'backend == cgroup2' 'precise == true' 'enforcement.tasks == cgroup' 'pids_peak <= 8'

begin "$who: in a service with Delegate=yes (systemd-run -p Delegate=yes): rule 1, cgroup2, precise"
printf '%s\n' "systemd-run $sysctl_user --wait --pipe -q -p Delegate=yes corral run --json -m 64M -- cr-alloc 1024" >>"$T_DIR/cmd"
systemd-run $sysctl_user --wait --pipe -q -p Delegate=yes -E LD_LIBRARY_PATH=/corral/lib \
        "$CORRAL" run --json -m 64M -t "$((60 * CR_SLOW))s" -- "$P/cr-alloc" 1024 \
        </dev/null >"$T_DIR/stdout" 2>"$T_DIR/stderr"
CR_EXIT=$?
cr_collect
expect_json 'status == memory_limit' 'backend == cgroup2' 'precise == true' "memory_peak_bytes <= $((limit + CR_MEMCG_FORCED))" \
        'evidence.placement.rule == own-cgroup' 'evidence.placement.base ~ .service'

begin "$who: no corral scope or run group is left (systemctl list-units 'corral*' is empty)"
left=$(wait_gone)
[ -z "$left" ] || fail "left behind: $left"

begin "$who: a scope that cannot be made falls back honestly (CGroupBase= on a missing parent wins first)"
# An explicit base that does not work is named in doctor, and placement goes on to systemd.
cr_exec doctor --json --cgroup-base /no-such-parent/x
expect_exit 0
expect_json 'placement.rule == systemd' 'placement.why_not.configured ~ CGroupBase=/no-such-parent/x'
left=$(wait_gone)
[ -z "$left" ] || fail "left behind: $left"

finish
