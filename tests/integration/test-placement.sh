#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Placement where it cannot make the cgroup2 rung work, and where rule 1 already does:
#   - a hybrid host (cgroup v1 owns memory, pids, cpu; our machines): rule 5, and the
#     fix is the kernel command line switch;
#   - no cgroup v2 at all (the cgroup2 mount taken away in a private mount namespace):
#     rule 5, the rlimit rung, and the fix says to mount cgroup v2;
#   - cgroup v2 mounted only at a path with a space (mountinfo writes it as \040): found
#     by mountinfo.c, unescaped, and used;
#   - in the VM (a delegated subtree, supervisor leaf): rule 1.
# CGroupBase= input is checked like every policy key; a base that cannot be used is
# named in doctor and never left behind.

. "$(dirname "$0")/lib.sh"

plan 6

hybrid=0
[ -d /sys/fs/cgroup/unified ] && [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] && hybrid=1

begin "doctor --json names the placement rule taken"
cr_exec doctor --json
if [ "$CR_IN_VM" = 1 ]; then
        expect_json 'placement.rule == own-cgroup' 'placement.rule_number == 1' 'placement.fix == null'
elif [ $hybrid = 1 ]; then
        expect_json 'placement.rule == fallback' 'placement.rule_number == 5' \
                'placement.why_not.own-cgroup ~ hybrid' 'placement.fix ~ systemd.unified_cgroup_hierarchy=1'
else
        expect_json 'placement.rule_number >= 1'
fi

begin "the run's evidence carries the placement (none when --backend rlimit needs no cgroup)"
cr_run -- "$P/cr-exit" 0
expect_exit 0
if [ "${CR_BACKEND:-auto}" = rlimit ]; then
        expect_json 'evidence.placement == null'
elif [ "$CR_IN_VM" = 1 ]; then
        expect_json 'evidence.placement.rule == own-cgroup' 'evidence.placement.base ~ corral-test'
elif [ $hybrid = 1 ]; then
        expect_json 'evidence.placement.rule == fallback' 'evidence.placement.base == null'
fi

begin "no cgroup v2 mounted: rule 5, rlimit, and the fix says to mount it"
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1; then
        fail "needs root and unshare to hide the cgroup2 mount"
else
        cat >"$CR_WORK/nocg.sh" <<'WRAP'
#!/bin/sh
# a private mount namespace without any cgroup2 mount
for m in $(awk '$3 == "cgroup2" { print $2 }' /proc/self/mounts | sort -r); do umount -l "$m" || exit 99; done
awk '$3 == "cgroup2" { found = 1 } END { exit found }' /proc/self/mounts || exit 99
exec "$@"
WRAP
        printf '%s\n' "unshare -m sh nocg.sh corral doctor --json" >>"$T_DIR/cmd"
        unshare -m --propagation private sh "$CR_WORK/nocg.sh" "$CORRAL" doctor --json \
                >"$T_DIR/stdout" 2>"$T_DIR/stderr"
        CR_EXIT=$?
        cr_collect
        [ "$CR_EXIT" = 99 ] && fail "could not hide the cgroup2 mount"
        expect_exit 1
        expect_json 'chosen == rlimit' 'placement.rule == fallback' 'placement.fix ~ no cgroup v2 is mounted'
fi

begin "cgroup2 mounted only at a path with a space: mountinfo's octal escape is undone, the run gets its group there"
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1; then
        fail "needs root and unshare to move the cgroup2 mount"
else
        cat >"$CR_WORK/movecg.sh" <<'WRAP'
#!/bin/sh
# a private mount namespace whose only cgroup2 mount is at $1, not a usual place
for m in $(awk '$3 == "cgroup2" { print $2 }' /proc/self/mounts | sort -r); do umount -l "$m" || exit 99; done
mkdir -p "$1" && mount -t cgroup2 none "$1" || exit 99
shift
exec "$@"
WRAP
        mnt="$CR_WORK/cg2 mnt"
        printf '%s\n' "unshare -m sh movecg.sh '$mnt' corral doctor --json" >>"$T_DIR/cmd"
        unshare -m --propagation private sh "$CR_WORK/movecg.sh" "$mnt" "$CORRAL" doctor --json \
                >"$T_DIR/stdout" 2>"$T_DIR/stderr"
        CR_EXIT=$?
        cr_collect
        [ "$CR_EXIT" = 99 ] && fail "could not move the cgroup2 mount"
        expect_json "cgroup_base ~ $mnt"
        printf '%s\n' "unshare -m sh movecg.sh '$mnt' corral run --json --backend cgroup2-core -- cr-exit 0" >>"$T_DIR/cmd"
        unshare -m --propagation private sh "$CR_WORK/movecg.sh" "$mnt" \
                "$CORRAL" run --json --backend cgroup2-core -- "$P/cr-exit" 0 >"$T_DIR/stdout" 2>"$T_DIR/stderr"
        CR_EXIT=$?
        cr_collect
        expect_exit 0
        expect_json 'status == ok' 'backend == cgroup2-core'
        rmdir "$mnt" 2>/dev/null
fi

begin "CGroupBase= must be an absolute path without '..'"
cr_exec run --cgroup-base relative/x -- "$P/cr-exit" 0
expect_exit 125
grep -q "CGroupBase" "$T_DIR/stderr" || fail "the error does not name CGroupBase"
cr_exec run -p CGroupBase=/a/../b -- "$P/cr-exit" 0
expect_exit 125
CORRAL_CGROUP_BASE=x "$CORRAL" doctor >"$T_DIR/stdout" 2>"$T_DIR/stderr"
[ $? = 125 ] || fail "CORRAL_CGROUP_BASE=x is not refused with 125"
grep -q "CORRAL_CGROUP_BASE" "$T_DIR/stderr" || fail "the error does not name CORRAL_CGROUP_BASE"

begin "CGroupBase= comes after rule 1; an unusable one is named in doctor and not left behind"
cr_exec doctor --json --cgroup-base /cr-placement-test-$$
if [ "$CR_IN_VM" = 1 ]; then
        expect_json 'placement.rule == own-cgroup'
else
        expect_json 'placement.why_not.configured ~ CGroupBase=/cr-placement-test-'
fi
for m in /sys/fs/cgroup /sys/fs/cgroup/unified; do
        if [ -d "$m/cr-placement-test-$$" ]; then
                fail "$m/cr-placement-test-$$ was left behind"
                rmdir "$m/cr-placement-test-$$/supervisor" "$m/cr-placement-test-$$" 2>/dev/null
        fi
done

finish
