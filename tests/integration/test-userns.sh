#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The user-namespace path: a real unprivileged caller (uid 59999 on the host, a uid
# nothing else on a shared host runs as; 1000 in the VM) gets the namespaces through a
# user namespace of each run's own, made in the child's clone. The same hostile
# programs as test-isolation.sh, each with its verdict and evidence, now as that user:
# `untrusted` end to end (filter + namespaces), writes to /usr under ProtectSystem=strict
# fail with EROFS, a file left in the private /tmp is gone, PrivateNetwork has only lo,
# up (a TCP server on 127.0.0.1 works, a connection out fails), PrivatePIDs has pid 1 =
# corral's init and the program as pid 2, the program keeps its own uid and has no
# capabilities, and `kill -9` of the user's `corral run` with PrivatePIDs=yes leaves
# nothing of a double-forked, setsid'ed, SIGTERM-ignoring tree alive 1 s later. Where
# the kernel refuses user namespaces (a container's seccomp profile, emulated by
# `cr-asuser --no-userns`; user.max_user_namespaces=0 where we may set it) the settings
# are "none" (Unenforced=allow) or a spawn_error naming the key and the reason.
#
# The suite itself runs as root: it becomes the user with tests/programs/cr-asuser. On
# the cgroup rungs the user gets a delegated cgroup (chowned to it, corral started in
# its supervisor leaf, as systemd's Delegate=yes does), so its runs use that rung.

. "$(dirname "$0")/lib.sh"

plan 22

POL=${CR_POLICIES:-$CR_ROOT/policies}
CORRAL_POLICY_PATH=$POL
export CORRAL_POLICY_PATH
H=$P/cr-hostile

if [ "$(id -u)" != 0 ]; then
        for i in $(seq 1 22); do skip "userns point $i" "the suite needs root to become its unprivileged user"; done
        finish
fi

if [ "$CR_IN_VM" = 1 ]; then U=1000; else U=59999; fi
ASU=$P/cr-asuser
UG=
cleanup() {
        if [ -n "$UG" ] && [ -d "$UG" ]; then
                for _g in "$UG"/run-*; do
                        [ -d "$_g" ] || continue
                        echo 1 >"$_g/cgroup.kill" 2>/dev/null
                        sleep 0.2
                        rmdir "$_g" 2>/dev/null
                done
                rmdir "$UG/supervisor" "$UG" 2>/dev/null
        fi
        [ -n "$SYSCTL_OLD" ] && echo "$SYSCTL_OLD" >/proc/sys/user/max_user_namespaces
}
SYSCTL_OLD=
trap cleanup EXIT INT TERM

case $CR_RUNG in
cgroup2 | cgroup2-core)
        UG=$CR_CG_BASE/userns-test.$$
        if mkdir "$UG" && mkdir "$UG/supervisor" && chown -R "$U:$U" "$UG"; then
                AS_U="$ASU --cgroup $UG/supervisor $U $U"
        else
                echo "Bail out! cannot delegate $UG to uid $U"
                exit 1
        fi
        ;;
*) AS_U="$ASU $U $U" ;;
esac

# a directory of the user's own, for pid files and its writes
UD=$CR_WORK/user
mkdir -p "$UD" && chown "$U:$U" "$UD" && chmod 755 "$CR_WORK"

# as_user: corral runs as the user from here on (cr_run puts CR_WRAP in front of corral)
CR_WRAP=$AS_U

begin "doctor as uid $U: the user-namespace path is available here"
cr_exec_user() {
        printf '%s\n' "uid $U: corral $*" >>"$T_DIR/cmd"
        # shellcheck disable=SC2086 # a command line on purpose
        $CR_WRAP "$CORRAL" "$@" </dev/null >"$T_DIR/stdout" 2>"$T_DIR/stderr"
        CR_EXIT=$?
        cr_collect
}
cr_exec_user doctor --json ${CR_BACKEND:+--backend "$CR_BACKEND"}
expect_json 'namespaces.path == user-ns' 'namespaces.user_namespaces == true' 'namespaces.reason == null'
USERNS_OK=1
[ "$(json_get namespaces.path)" = user-ns ] || USERNS_OK=0
end

if [ "$USERNS_OK" != 1 ]; then
        for i in $(seq 2 17); do skip "userns point $i" "this kernel refuses user namespaces to uid $U (doctor says why)"; done
else
        begin "policy check untrusted as uid $U: every namespace setting is user-ns, exit 0"
        cr_exec_user policy check untrusted
        expect_exit 0
        for k in PrivateNetwork PrivateTmp PrivateIPC PrivatePIDs ProtectSystem; do
                grep -q "^$k=.*# user-ns+" "$T_DIR/stdout" || fail "$k is not enforced by user-ns+...: $(grep "^$k=" "$T_DIR/stdout")"
        done
        end

        # denied UNTRUSTED-MODE CALL: as the user, the run ends syscall_denied naming CALL
        denied() {
                begin "uid $U, untrusted: cr-hostile $1 ends with syscall_denied naming $2"
                cr_run --policy untrusted -- "$H" "$1"
                expect_exit 159
                expect_json 'status == syscall_denied' "evidence.syscall_denied.name == $2" \
                        'evidence.syscall_denied.action == kill' 'enforcement.syscall_filter == seccomp' \
                        'enforcement.private_network == user-ns+netns' 'enforcement.private_tmp == user-ns+mount-ns' \
                        'enforcement.protect_system == user-ns+mount-ns' 'enforcement.private_ipc == user-ns+ipc-ns' \
                        'enforcement.private_pids == user-ns+pid-ns' 'enforcement.die_with_corral == pdeathsig+pid-ns'
                expect_backend
                end
        }
        denied ptrace ptrace
        denied mount mount
        denied userns unshare

        begin "uid $U, untrusted: socket(AF_INET) + connect out finds no network (ENETUNREACH)"
        cr_run --policy untrusted -- "$H" connect
        expect_exit 1
        expect_json 'status == exited' 'enforcement.private_network == user-ns+netns'
        expect_stderr_contains "Network is unreachable"
        end

        begin "uid $U, ProtectSystem=strict: writing /usr and its own directory fails with EROFS"
        rm -f "$UD/strict"
        cr_run -p ProtectSystem=strict -- sh -c "\"$H\" write /usr/corral-userns-test; \"$H\" write \"$UD/strict\""
        expect_json 'enforcement.protect_system == user-ns+mount-ns'
        n=$(grep -c "Read-only file system" "$T_DIR/stderr")
        [ "$n" = 2 ] || fail "$n of 2 writes failed with EROFS"
        [ -e "$UD/strict" ] && fail "$UD/strict was written"
        [ -e /usr/corral-userns-test ] && fail "/usr/corral-userns-test exists"
        end

        begin "uid $U: without ProtectSystem= the same write to its own directory works (control)"
        cr_run -- "$H" write "$UD/control"
        expect_exit 0
        [ -e "$UD/control" ] || fail "$UD/control was not written"
        end

        LEFT=/tmp/corral-userns-left.$$
        begin "uid $U, PrivateTmp=yes: a file left in the private /tmp is gone after the run"
        rm -f "$LEFT"
        cr_run -p PrivateTmp=yes -- "$H" write "$LEFT"
        expect_exit 0
        expect_json 'status == ok' 'enforcement.private_tmp == user-ns+mount-ns'
        [ -e "$LEFT" ] && fail "$LEFT is in the host's /tmp"
        cr_run -p PrivateTmp=yes -- "$H" exists "$LEFT"
        expect_exit 1
        end

        begin "uid $U, PrivateNetwork=yes: a TCP server on 127.0.0.1 inside works"
        cr_run -p PrivateNetwork=yes -- "$H" loopback
        expect_exit 0
        expect_json 'status == ok' 'enforcement.private_network == user-ns+netns'
        end

        begin "uid $U, PrivateNetwork=yes: a connection to an outside address fails"
        cr_run -p PrivateNetwork=yes -- "$H" connect
        expect_exit 1
        expect_stderr_contains "Network is unreachable"
        end

        if command -v ip >/dev/null 2>&1; then
                begin "uid $U, PrivateNetwork=yes: ip link shows only lo, up"
                cr_run -p PrivateNetwork=yes -- ip -o link show
                expect_exit 0
                links=$(sed '$d' "$T_DIR/stdout" | grep -c ': ')
                [ "$links" = 1 ] || fail "ip link shows $links links, expected 1"
                grep -q '^1: lo: <LOOPBACK,UP' "$T_DIR/stdout" || fail "lo is not up: $(head -1 "$T_DIR/stdout")"
                end
        else
                skip "uid $U: ip link shows only lo" "no ip(8) here"
        fi

        begin "uid $U, PrivatePIDs=yes: pid 1 is corral's init as uid $U without capabilities, the program pid 2"
        cr_run --capture -p PrivatePIDs=yes -- sh -c 'echo $$; cat /proc/1/comm; grep -E "^(Uid|CapEff):" /proc/1/status'
        expect_exit 0
        expect_json 'status == ok' 'enforcement.private_pids == user-ns+pid-ns' \
                'enforcement.die_with_corral == pdeathsig+pid-ns'
        out=$(json_get stdout)
        [ "$(echo "$out" | sed -n 1p)" = 2 ] || fail "the shell is pid '$(echo "$out" | sed -n 1p)', expected 2"
        [ "$(echo "$out" | sed -n 2p)" = corral-init ] || fail "pid 1 is '$(echo "$out" | sed -n 2p)'"
        echo "$out" | grep -q "^Uid:[[:space:]]*$U[[:space:]]*$U[[:space:]]*$U" || fail "pid 1 is not uid $U: $(echo "$out" | grep Uid)"
        echo "$out" | grep -q '^CapEff:[[:space:]]*0*$' || fail "pid 1 has capabilities: $(echo "$out" | grep CapEff)"
        end

        # untrusted's namespaces without its filter: busybox's sh calls setuid() to drop
        # set-uid privileges, which the filter denies
        begin "uid $U: the program is the caller (its own uid) with no capabilities at all"
        cr_run --capture -p PrivateTmp=yes -p PrivateNetwork=yes -p PrivateIPC=yes -p PrivatePIDs=yes \
                -p ProtectSystem=strict -- sh -c 'id -u; grep -E "^Cap(Prm|Eff|Amb):" /proc/self/status'
        expect_exit 0
        out=$(json_get stdout)
        [ "$(echo "$out" | sed -n 1p)" = "$U" ] || fail "the program is uid '$(echo "$out" | sed -n 1p)'"
        n=$(echo "$out" | grep -c '^Cap...:[[:space:]]*0*$')
        [ "$n" = 3 ] || fail "capabilities after exec: $(echo "$out" | grep Cap | tr '\n' ' ')"
        end

        begin "uid $U: InaccessiblePaths= and ReadOnlyPaths= hold (a hidden file cannot be read, a read-only dir not written)"
        echo secret >"$UD/secret" && chown "$U" "$UD/secret"
        mkdir -p "$UD/ro" && chown "$U" "$UD/ro"
        cr_run -p "InaccessiblePaths=$UD/secret" -p "ReadOnlyPaths=$UD/ro" -- \
                sh -c "cat \"$UD/secret\"; \"$H\" write \"$UD/ro/x\""
        expect_json 'enforcement.paths == user-ns+mount-ns'
        grep -q secret "$T_DIR/stdout" && fail "the hidden file was read"
        expect_stderr_contains "Read-only file system"
        [ -e "$UD/ro/x" ] && fail "$UD/ro/x was written"
        end

        # /proc/sys read-only below a writable /proc, as in a container: a user namespace
        # locks that read-only flag, and ProtectSystem=strict must not trip over it
        cat >"$CR_WORK/ro-procsys" <<'EOS'
#!/bin/sh
mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys || exit 99
exec "$@"
EOS
        chmod 755 "$CR_WORK/ro-procsys"
        if unshare -m --propagation private "$CR_WORK/ro-procsys" true 2>/dev/null; then
                begin "uid $U, ProtectSystem=strict under a host with a read-only /proc/sys (locked in the userns): the run works"
                CR_WRAP="unshare -m --propagation private $CR_WORK/ro-procsys $AS_U"
                cr_run -p ProtectSystem=strict -- "$H" write /usr/corral-userns-test
                CR_WRAP=$AS_U
                expect_exit 1
                expect_json 'status == exited' 'enforcement.protect_system == user-ns+mount-ns'
                expect_stderr_contains "Read-only file system"
                end
        else
                skip "uid $U: ProtectSystem=strict with a locked read-only /proc/sys" "cannot make a read-only /proc/sys bind here (unshare -m, mount -o remount,bind,ro)"
        fi

        tree_pids() {
                for _d in /proc/[0-9]*; do
                        _c=$(tr '\0' ' ' <"$_d/cmdline" 2>/dev/null) || continue
                        case $_c in *cr-tree*"$1"*) _st=$(proc_state "${_d#/proc/}")
                                [ "$_st" = Z ] || [ -z "$_st" ] || echo "${_d#/proc/}" ;;
                        esac
                done
        }
        begin "uid $U, PrivatePIDs=yes: kill -9 of its corral run leaves nothing of the tree alive 1 s later"
        rm -f "$UD/pids"
        cr_run_bg -p PrivatePIDs=yes -- "$P/cr-tree" "$UD/pids"
        if wait_for_file "$UD/pids"; then
                before=$(tree_pids "$UD/pids" | wc -l)
                [ "$before" -ge 4 ] || fail "only $before tree processes were running"
                kill -9 "$CR_BG_PID"
                wait "$CR_BG_PID" 2>/dev/null
                sleep 1
                left=$(tree_pids "$UD/pids")
                [ -z "$left" ] || fail "alive 1 s after corral's death: $left"
                for p in $left; do kill -9 "$p" 2>/dev/null; done
        else
                fail "cr-tree never wrote its pid file"
                kill -9 "$CR_BG_PID" 2>/dev/null
        fi
        end
fi

begin "uid $U: DynamicUser=yes stays root-only (a spawn_error, never a run as the caller)"
cr_run -p DynamicUser=yes -- "$H" whoami
expect_exit 126
expect_json 'status == spawn_error' 'error ~ DynamicUser=yes needs root'
end

# The kernel refuses: a container's seccomp profile (cr-asuser --no-userns)
CR_WRAP="$ASU --no-userns ${UG:+--cgroup $UG/supervisor }$U $U"
begin "user namespaces refused (seccomp): doctor says not available and why"
cr_exec_user doctor --json ${CR_BACKEND:+--backend "$CR_BACKEND"}
expect_json 'namespaces.path == none' 'namespaces.user_namespaces == false' \
        'namespaces.reason ~ clone(CLONE_NEWUSER): Operation not permitted'
end

begin "user namespaces refused, Unenforced=allow: each setting is none, the run goes ahead"
cr_run -p PrivateTmp=yes -p PrivateNetwork=yes -p PrivatePIDs=yes -p ProtectSystem=strict -p PrivateIPC=yes -- "$H" whoami
expect_exit 0
expect_json 'status == ok' 'enforcement.private_tmp == none' 'enforcement.private_network == none' \
        'enforcement.private_pids == none' 'enforcement.protect_system == none' 'enforcement.private_ipc == none'
end

begin "user namespaces refused, Unenforced=refuse: a spawn_error naming the key and the reason"
cr_run -p PrivateNetwork=yes -p Unenforced=refuse -- "$H" whoami
expect_exit 126
expect_json 'status == spawn_error' 'error ~ PrivateNetwork=yes: user namespaces: clone(CLONE_NEWUSER)'
end

# The kernel refuses: user.max_user_namespaces=0 (needs CAP_SYS_RESOURCE: the VM, not every host)
CR_WRAP=$AS_U
old=$(cat /proc/sys/user/max_user_namespaces 2>/dev/null)
if [ -n "$old" ] && echo 0 2>/dev/null >/proc/sys/user/max_user_namespaces; then
        SYSCTL_OLD=$old
        begin "user.max_user_namespaces=0: Unenforced=refuse is a spawn_error naming the sysctl; doctor says so"
        cr_run -p PrivateTmp=yes -p Unenforced=refuse -- "$H" whoami
        expect_exit 126
        expect_json 'status == spawn_error' 'error ~ PrivateTmp=yes: user namespaces' \
                'error ~ user.max_user_namespaces=0'
        cr_exec_user doctor --json
        expect_json 'namespaces.path == none' 'namespaces.reason ~ user.max_user_namespaces=0'
        echo "$old" >/proc/sys/user/max_user_namespaces
        SYSCTL_OLD=
        end
else
        skip "user.max_user_namespaces=0: spawn_error" "cannot set user.max_user_namespaces here (no CAP_SYS_RESOURCE)"
fi
CR_WRAP=

finish
