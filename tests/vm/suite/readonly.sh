#!/bin/sh
# SPDX-License-Identifier: MIT
#
# A read-only cgroupfs, as in a container: in a mount namespace of its own,
# /sys/fs/cgroup is remounted read-only for corral alone. auto must fall back
# below cgroup2 and still run; --backend cgroup2 must fail with a clear message
# and exit 125. The rest of the VM keeps its writable cgroupfs.

. "$(dirname "$0")/../../integration/lib.sh"

require_rung cgroup2
plan 4

if ! command -v unshare >/dev/null 2>&1; then
        skip "auto falls back on a read-only cgroupfs" "no unshare here"
        skip "--backend cgroup2 fails on a read-only cgroupfs" "no unshare here"
        skip "--backend cgroup2-core fails on a read-only cgroupfs" "no unshare here"
        skip "the VM's own cgroupfs stays writable" "no unshare here"
        finish
fi

# The wrapper runs in the new mount namespace: make the cgroupfs read-only there,
# prove it, then become corral. Exit 99: the test could not set itself up.
cat >"$CR_WORK/ro-wrap.sh" <<'WRAP'
#!/bin/sh
cg=/sys/fs/cgroup
mount -o remount,bind,ro "$cg" 2>/dev/null ||
        { mount --bind "$cg" "$cg" && mount -o remount,bind,ro "$cg"; } ||
        { echo "ro-wrap: cannot remount $cg read-only" >&2; exit 99; }
if mkdir "$cg/corral-test/ro-probe.$$" 2>/dev/null; then
        rmdir "$cg/corral-test/ro-probe.$$"
        echo "ro-wrap: $cg is still writable" >&2
        exit 99
fi
exec "$@"
WRAP
CR_WRAP="unshare -m --propagation private sh $CR_WORK/ro-wrap.sh"

begin "--backend auto falls back below cgroup2 on a read-only cgroupfs and still runs"
saved=$CR_BACKEND
CR_BACKEND=auto
cr_run -m 64M -- "$P/cr-exit" 0
CR_BACKEND=$saved
[ "$CR_EXIT" = 99 ] && fail "could not make the cgroupfs read-only: $(cat "$T_DIR/stderr")"
expect_exit 0
expect_json 'status == ok' 'backend != cgroup2' 'backend == cgroup2-core|rlimit' \
        'enforcement.memory == rlimit-data|rlimit-as'
diag "auto chose: $(json_get backend)"

begin "--backend cgroup2 on a read-only cgroupfs exits 125 with one clear line"
cr_run -- "$P/cr-exit" 0
[ "$CR_EXIT" = 99 ] && fail "could not make the cgroupfs read-only: $(cat "$T_DIR/stderr")"
expect_exit 125
expect_stderr_line cgroup2

begin "--backend cgroup2-core on a read-only cgroupfs exits 125 too"
saved=$CR_BACKEND
CR_BACKEND=cgroup2-core
cr_run -- "$P/cr-exit" 0
CR_BACKEND=$saved
[ "$CR_EXIT" = 99 ] && fail "could not make the cgroupfs read-only: $(cat "$T_DIR/stderr")"
expect_exit 125
expect_stderr_line cgroup2-core

CR_WRAP=
begin "outside that namespace the cgroupfs is still writable and cgroup2 still works"
if mkdir "$CR_CG_BASE/ro-probe.$$" 2>/dev/null; then
        rmdir "$CR_CG_BASE/ro-probe.$$"
else
        fail "$CR_CG_BASE is not writable any more: the remount leaked out of the namespace"
fi
cr_run -- "$P/cr-exit" 0
expect_exit 0
expect_json 'backend == cgroup2'

finish
