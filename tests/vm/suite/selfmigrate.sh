#!/bin/sh
# SPDX-License-Identifier: MIT
#
# corral started as the only process of a fresh, empty cgroup (as a systemd
# unit with Delegate=yes starts it): it cannot create controller-enabled groups
# next to itself (cgroup v2's no-internal-process rule) until it moves into a
# leaf of its own. It must do so and still get the cgroup2 rung.

. "$(dirname "$0")/../../integration/lib.sh"

require_rung cgroup2
plan 2

MIB=1048576
solo=/sys/fs/cgroup/cr-solo.$$

# remove_tree DIR: a cgroup and its children, deepest first (all must be empty by now).
remove_tree() {
        for _c in "$1"/*/; do
                [ -d "$_c" ] && remove_tree "${_c%/}"
        done
        rmdir "$1"
}

cat >"$CR_WORK/solo-wrap.sh" <<'WRAP'
#!/bin/sh
# Move this shell into the group given, then become corral: alone in it.
echo $$ >"$1/cgroup.procs" || { echo "solo-wrap: cannot move into $1" >&2; exit 99; }
shift
exec "$@"
WRAP

begin "corral alone in a fresh cgroup still gets cgroup2, with the limits asked for"
if mkdir "$solo"; then
        CR_WRAP="sh $CR_WORK/solo-wrap.sh $solo"
        cr_run -m 64M -n 32 -- "$P/cr-cgpath"
        CR_WRAP=
        [ "$CR_EXIT" = 99 ] && fail "could not move into $solo"
        expect_exit 0
        expect_json 'status == ok' 'backend == cgroup2' 'enforcement.memory == cgroup'
        case $(cgpath_value cgroup) in
        /cr-solo.$$/*run-*) ;;
        *) fail "the program ran in '$(cgpath_value cgroup)', not in a run group below /cr-solo.$$" ;;
        esac
        v=$(cgpath_value memory.max)
        [ "$v" = $((64 * MIB)) ] || fail "memory.max is '$v', expected $((64 * MIB))"
        v=$(cgpath_value pids.max)
        [ "$v" = 32 ] || fail "pids.max is '$v', expected 32"
else
        fail "cannot create $solo"
fi

begin "nothing of the run is left below the fresh cgroup, and it can be removed"
if [ -d "$solo" ]; then
        for g in "$solo"/run-* "$solo"/*/run-*; do
                [ -d "$g" ] && fail "left behind: $g"
        done
        procs=$(cat "$solo"/cgroup.procs "$solo"/*/cgroup.procs 2>/dev/null | tr '\n' ' ')
        [ -z "$(echo "$procs" | tr -d ' ')" ] || fail "processes left in $solo: $procs"
        remove_tree "$solo" || fail "cannot remove $solo"
else
        fail "$solo is gone: nothing to check"
fi

finish
