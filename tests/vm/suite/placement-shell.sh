#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Placement rule 4 in the VM without systemd: a shell-like layout, where corral runs
# as root in a leaf next to another process (so its own cgroup cannot hold run groups
# with controllers), and the root has memory, pids and cpu enabled. corral makes
# /sys/fs/cgroup/corral, moves only itself into corral/supervisor and runs precisely
# there; the other process is never moved. The script removes what rule 4 keeps
# (the corral group is made once and stays, as dockerd's docker/ does).

. "$(dirname "$0")/../../integration/lib.sh"

require_rung cgroup2
plan 5

CG=/sys/fs/cgroup
SHELL_CG=$CG/shell-leaf
MIB=1048576
limit=$((64 * MIB))

cleanup() {
        [ -n "${other:-}" ] && kill -9 "$other" 2>/dev/null && wait "$other" 2>/dev/null
        for g in $CG/corral/supervisor $CG/corral $SHELL_CG; do
                [ -d "$g" ] || continue
                for i in 1 2 3 4 5 6 7 8 9 10; do rmdir "$g" 2>/dev/null && break; sleep 0.2; done
        done
}
trap cleanup EXIT
[ -d $CG/corral ] && diag "$CG/corral exists before the test (left by an earlier run)"

mkdir -p $SHELL_CG
sleep 1000 &
other=$!
echo "$other" >$SHELL_CG/cgroup.procs
# The wrapper joins the leaf, then becomes corral: corral shares it with 'sleep'.
cat >"$CR_WORK/leaf-wrap.sh" <<WRAP
#!/bin/sh
echo 0 >$SHELL_CG/cgroup.procs || exit 99
exec "\$@"
WRAP
CR_WRAP="sh $CR_WORK/leaf-wrap.sh"
saved=$CR_BACKEND
CR_BACKEND=

begin "doctor: rule 1 is refused (the leaf holds another process), rule 4 gives the base"
printf '%s\n' "sh leaf-wrap.sh corral doctor --json" >>"$T_DIR/cmd"
sh "$CR_WORK/leaf-wrap.sh" "$CORRAL" doctor --json >"$T_DIR/stdout" 2>"$T_DIR/stderr"
CR_EXIT=$?
cr_collect
expect_exit 0
expect_json 'chosen == cgroup2' 'placement.rule == namespace' 'placement.rule_number == 4' \
        "placement.base == $CG/corral" 'placement.why_not.own-cgroup ~ holds processes' \
        'placement.why_not.systemd ~ not PID 1'

begin "corral run -m 64M from the leaf: cgroup2, precise, run group in $CG/corral"
cr_run -m 64M -- "$P/cr-cgpath"
expect_exit 0
expect_json 'status == ok' 'backend == cgroup2' 'precise == true' 'enforcement.memory == cgroup' \
        'evidence.placement.rule == namespace' "evidence.placement.base == $CG/corral"
case $(cgpath_value cgroup) in
/corral/run-*) ;;
*) fail "the run's cgroup is '$(cgpath_value cgroup)', not /corral/run-*" ;;
esac

begin "the memory hog is memory_limit with the peak <= the limit"
cr_run -m 64M -t "$((60 * CR_SLOW))s" -- "$P/cr-alloc" 1024
expect_exit 137
expect_json 'status == memory_limit' 'backend == cgroup2' 'precise == true' 'evidence.oom_kill > 0' \
        "memory_peak_bytes <= $((limit + CR_MEMCG_FORCED))" 'evidence.placement.rule == namespace'

begin "the other process was never moved: it is still alone in the leaf"
procs=$(cat $SHELL_CG/cgroup.procs)
[ "$procs" = "$other" ] || fail "$SHELL_CG/cgroup.procs is '$procs', expected only $other"

begin "no run group is left in $CG/corral; only corral's supervisor leaf stays, empty"
left=$(find $CG/corral -mindepth 1 -maxdepth 1 -type d ! -name supervisor)
[ -z "$left" ] || fail "left behind: $left"
[ -z "$(cat $CG/corral/supervisor/cgroup.procs 2>/dev/null)" ] || fail "processes in $CG/corral/supervisor"

CR_BACKEND=$saved
finish
