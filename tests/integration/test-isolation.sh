#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Isolation with hostile programs (tests/programs/cr-hostile), each with its expected
# verdict and evidence: under `untrusted` the filter ends ptrace, mount and
# unshare(CLONE_NEWUSER) runs with status syscall_denied naming the call, and
# socket(AF_INET)+connect finds no network; the i386 entry point (int 0x80) is refused
# with SystemCallArchitectures=native and, without it, still meets the rules; writes to
# /usr fail under ProtectSystem=strict; a file left in the private /tmp is gone after
# the run; with PrivateNetwork=yes a TCP server on 127.0.0.1 works and `ip link` shows
# only lo, up; an unprivileged caller where user namespaces are refused gets "none" (or a
# spawn_error with Unenforced=refuse); where they work, test-userns.sh has its points.
# The suite runs as root: as anyone else its points SKIP.

. "$(dirname "$0")/lib.sh"

plan 20

POL=${CR_POLICIES:-$CR_ROOT/policies}
CORRAL_POLICY_PATH=$POL
export CORRAL_POLICY_PATH
H=$P/cr-hostile

if [ "$(id -u)" != 0 ]; then
        for i in $(seq 1 18); do skip "isolation point $i" "needs root (namespaces)"; done
        finish
fi

# denied UNTRUSTED-MODE CALL: the run ends syscall_denied, exit 159, naming CALL
denied() {
        begin "untrusted: cr-hostile $1 ends with syscall_denied naming $2"
        cr_run --policy untrusted -- "$H" "$1"
        expect_exit 159
        expect_json 'status == syscall_denied' 'evidence.limit_hit == SystemCallFilter' \
                "evidence.syscall_denied.name == $2" "evidence.syscall_denied.arch == $3" \
                'evidence.syscall_denied.action == kill' 'signal == 9' \
                'enforcement.syscall_filter == seccomp' 'enforcement.no_new_privileges == prctl'
        end
}
denied ptrace ptrace x86_64
denied mount mount x86_64
denied userns unshare x86_64

begin "untrusted: socket(AF_INET) + connect out finds no network (ENETUNREACH)"
cr_run --policy untrusted -- "$H" connect
expect_exit 1
expect_json 'status == exited' 'enforcement.private_network == netns' 'evidence.syscall_denied == <absent>'
expect_stderr_contains "connect to 192.0.2.1:80: refused: Network is unreachable"
end

if [ "$(uname -m)" = x86_64 ]; then
        begin "SystemCallArchitectures=native: getpid through int 0x80 ends the run (arch x86)"
        cr_run -p SystemCallArchitectures=native -p SystemCallErrorNumber=EPERM -- "$H" int80-getpid
        expect_exit 159
        expect_json 'status == syscall_denied' 'evidence.syscall_denied.arch == x86' \
                'evidence.syscall_denied.name == getpid' 'evidence.syscall_denied.action == kill'
        end

        begin "without it the i386 entry point is allowed (getpid via int 0x80 works)"
        cr_run -p 'SystemCallFilter=~mount' -- "$H" int80-getpid
        expect_exit 0
        expect_json 'status == ok'
        end

        begin "...but a deny-list still covers it: ptrace through int 0x80 is denied as x86 ptrace"
        cr_run -p 'SystemCallFilter=~ptrace' -- "$H" int80-ptrace
        expect_exit 159
        expect_json 'status == syscall_denied' 'evidence.syscall_denied.name == ptrace' \
                'evidence.syscall_denied.arch == x86' 'evidence.syscall_denied.nr == 26'
        end
else
        skip "int 0x80 refused" "not x86_64"
        skip "int 0x80 allowed without native" "not x86_64"
        skip "int 0x80 ptrace denied" "not x86_64"
fi

begin "SystemCallErrorNumber=EPERM: the denied call fails, the run goes on, evidence says errno"
cr_run -p 'SystemCallFilter=~ptrace' -p SystemCallErrorNumber=EPERM -- "$H" ptrace
expect_exit 1
expect_json 'status == exited' 'evidence.syscall_denied.name == ptrace' \
        'evidence.syscall_denied.action == errno' 'evidence.syscall_denied.errno == EPERM'
expect_stderr_contains "refused: Operation not permitted"
end

begin "ProtectSystem=strict: writing to /usr fails (EROFS) and leaves nothing"
rm -f /usr/corral-isolation-test
cr_run -p ProtectSystem=strict -- "$H" write /usr/corral-isolation-test
expect_exit 1
expect_json 'status == exited' 'enforcement.protect_system == mount-ns'
expect_stderr_contains "Read-only file system"
[ -e /usr/corral-isolation-test ] && fail "/usr/corral-isolation-test exists"
rm -f /usr/corral-isolation-test
end

# /dev is a mount of its own (made writable again in place); a ReadWritePaths= directory
# is not one (bound onto itself first): both paths of ProtectSystem=strict's RW step.
RWDIR=$(mktemp -d "${TMPDIR:-/tmp}/corral-isolation-rw.XXXXXX")
begin "ProtectSystem=strict: /dev/shm and a ReadWritePaths= directory stay writable, its parent does not"
cr_run -p ProtectSystem=strict -p "ReadWritePaths=$RWDIR" -- /bin/sh -c \
        "$H write $RWDIR/f && { [ ! -d /dev/shm ] || $H write /dev/shm/corral-isolation.$$; } && ! $H write $RWDIR.x"
expect_exit 0
expect_json 'status == ok' 'enforcement.protect_system == mount-ns' 'enforcement.paths == mount-ns'
[ -e "$RWDIR/f" ] || fail "$RWDIR/f was not written through ReadWritePaths="
[ -e "$RWDIR.x" ] && fail "$RWDIR.x was written next to it, under ProtectSystem=strict"
rm -rf "$RWDIR" "$RWDIR.x" /dev/shm/corral-isolation.$$
end

# As a container's /proc/sys is: read-only below /proc, in a mount namespace of the
# test's own (the host's mounts are not touched). The writable-again step of /proc must not
# make it writable (it did: strict cleared read-only recursively).
begin "ProtectSystem=strict: a mount below /proc that the host has read-only stays read-only in the run"
printf '%s\n' '#!/bin/sh' \
        'mount --bind /proc/sys/kernel /proc/sys/kernel && mount -o remount,bind,ro /proc/sys/kernel && exec "$@"' \
        >"$T_DIR/ro-wrap"
chmod +x "$T_DIR/ro-wrap"
if unshare -m --propagation private "$T_DIR/ro-wrap" true 2>/dev/null; then
        CR_WRAP="unshare -m --propagation private $T_DIR/ro-wrap"
        cr_run -p ProtectSystem=strict -- /bin/sh -c 'awk "\$5 == \"/proc/sys/kernel\" {print \$6}" /proc/self/mountinfo'
        CR_WRAP=
        expect_exit 0
        expect_json 'status == ok'
        opts=$(head -n 1 "$T_DIR/stdout")
        case $opts in
        ro,* | ro) ;;
        *) fail "/proc/sys/kernel in the run: '$opts', expected read-only as outside" ;;
        esac
else
        fail "cannot make a read-only bind mount in a private mount namespace here (unshare -m)"
fi
end

# The same below /dev, on a fresh tmpfs over /dev/shm in the test's own mount namespace:
# a path with a space (mountinfo writes it as \040, the plan needs the real path), and one
# longer than the plan's slot (a spawn_error: the run must not get it writable).
printf '%s\n' '#!/bin/sh' \
        'mount -t tmpfs tmpfs /dev/shm && mkdir -p "/dev/shm/$1" && mount --bind "/dev/shm/$1" "/dev/shm/$1" &&' \
        '        mount -o remount,bind,ro "/dev/shm/$1" || exit 99' 'shift' 'exec "$@"' >"$CR_WORK/shm-ro-wrap"
chmod +x "$CR_WORK/shm-ro-wrap"
if [ -d /dev/shm ] && unshare -m --propagation private "$CR_WORK/shm-ro-wrap" "ro dir" true 2>/dev/null; then
        begin "ProtectSystem=strict: a read-only mount below /dev with a space in its path stays read-only"
        printf '%s\n' "unshare -m shm-ro-wrap 'ro dir' corral run -p ProtectSystem=strict -- cr-hostile write '/dev/shm/ro dir/f'" >>"$T_DIR/cmd"
        unshare -m --propagation private "$CR_WORK/shm-ro-wrap" "ro dir" "$CORRAL" run --json ${CR_BACKEND:+--backend "$CR_BACKEND"} \
                -p ProtectSystem=strict -- "$H" write "/dev/shm/ro dir/f" </dev/null >"$T_DIR/stdout" 2>"$T_DIR/stderr"
        CR_EXIT=$?
        cr_collect
        expect_exit 1
        expect_json 'status == exited'
        expect_stderr_contains "Read-only file system"

        begin "ProtectSystem=strict: a read-only mount below /dev with a path too long for the plan is a spawn_error"
        long=$(printf '%0200d' 0)/$(printf '%0100d' 0)
        printf '%s\n' "unshare -m shm-ro-wrap LONG corral run -p ProtectSystem=strict -- true" >>"$T_DIR/cmd"
        unshare -m --propagation private "$CR_WORK/shm-ro-wrap" "$long" "$CORRAL" run --json ${CR_BACKEND:+--backend "$CR_BACKEND"} \
                -p ProtectSystem=strict -- /bin/true </dev/null >"$T_DIR/stdout" 2>"$T_DIR/stderr"
        CR_EXIT=$?
        cr_collect
        expect_exit 126
        expect_json 'status == spawn_error'
        expect_stderr_contains "path longer than 255 bytes"
else
        skip "ProtectSystem=strict: a read-only mount below /dev with a space in its path stays read-only" \
                "no /dev/shm, or no read-only bind in a private mount namespace here"
        skip "ProtectSystem=strict: a read-only mount below /dev with a path too long for the plan is a spawn_error" \
                "no /dev/shm, or no read-only bind in a private mount namespace here"
fi
end

LEFT=/tmp/corral-isolation-left.$$
begin "PrivateTmp=yes: a file left in the private /tmp is gone after the run"
rm -f "$LEFT"
cr_run -p PrivateTmp=yes -- "$H" write "$LEFT"
expect_exit 0
expect_json 'status == ok' 'enforcement.private_tmp == mount-ns'
[ -e "$LEFT" ] && fail "$LEFT is in the host's /tmp"
end

begin "PrivateTmp=yes: the next run does not see it either"
cr_run -p PrivateTmp=yes -- "$H" exists "$LEFT"
expect_exit 1
end

begin "PrivateNetwork=yes: a TCP server on 127.0.0.1 inside works"
cr_run -p PrivateNetwork=yes -- "$H" loopback
expect_exit 0
expect_json 'status == ok' 'enforcement.private_network == netns'
end

begin "PrivateNetwork=yes: a connection to an outside address fails"
cr_run -p PrivateNetwork=yes -- "$H" connect
expect_exit 1
expect_stderr_contains "Network is unreachable"
end

if command -v ip >/dev/null 2>&1; then
        begin "PrivateNetwork=yes: ip link shows only lo, up"
        cr_run -p PrivateNetwork=yes -- ip -o link show
        expect_exit 0
        links=$(sed '$d' "$T_DIR/stdout" | grep -c ': ')
        [ "$links" = 1 ] || fail "ip link shows $links links, expected 1"
        grep -q '^1: lo: <LOOPBACK,UP' "$T_DIR/stdout" || fail "lo is not up: $(head -1 "$T_DIR/stdout")"
        end
else
        skip "ip link shows only lo" "no ip(8) here"
fi

# Without root and without user namespaces (a container's seccomp profile refuses them:
# cr-asuser --no-userns); with them, the unprivileged path is test-userns.sh.
begin "unprivileged, no user namespaces: PrivateNetwork=yes is enforced by none (Unenforced=allow)"
CR_WRAP="$P/cr-asuser --no-userns 59999 59999"
cr_run --backend rlimit -p PrivateNetwork=yes -- "$H" loopback
expect_json 'enforcement.private_network == none'
end

begin "unprivileged, no user namespaces, Unenforced=refuse: a spawn_error naming PrivateNetwork"
cr_run --backend rlimit -p PrivateNetwork=yes -p Unenforced=refuse -- "$H" loopback
CR_WRAP=
expect_exit 126
expect_json 'status == spawn_error' 'error ~ PrivateNetwork=yes'
end

finish
