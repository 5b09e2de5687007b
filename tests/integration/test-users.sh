#!/bin/sh
# SPDX-License-Identifier: MIT
#
# A user per run (root only): DynamicUser=yes runs as a uid of its own from
# 61184-65519, released after the run; kill(-1, SIGKILL) from one dynamic-user run
# cannot touch another running at the same time; a file it left in its private /tmp is
# gone; User= runs as that user; a non-root caller is refused, never run as itself.
# TasksMax= under DynamicUser= is RLIMIT_NPROC on the rungs without a pids controller,
# and exact there: the kernel counts RLIMIT_NPROC per uid, and the uid is the run's own
# (as root without it the kernel ignores RLIMIT_NPROC: "none").

. "$(dirname "$0")/lib.sh"

plan 9

H=$P/cr-hostile

if [ "$(id -u)" != 0 ]; then
        for i in 1 2 3 4 5 6 7 8 9; do skip "user point $i" "needs root"; done
        finish
fi

begin "DynamicUser=yes: the run's uid is one of 61184-65519, and it is released after the run"
cr_run --capture -p DynamicUser=yes -- "$H" whoami
expect_exit 0
expect_json 'status == ok' 'enforcement.user == dynamic-user' 'evidence.uid >= 61184' 'evidence.uid <= 65519' \
        'enforcement.private_tmp == mount-ns' 'enforcement.protect_system == mount-ns'
uid=$(json_get evidence.uid)
[ "$(json_get stdout)" = "$uid" ] || fail "the program says uid $(json_get stdout), the result says $uid"
[ -e "/run/corral/dynamic-uid/$uid" ] && fail "uid $uid is still held after the run"
end

begin "DynamicUser=yes: kill(-1, SIGKILL) from one run leaves another concurrent run alive"
cr_run_bg -p DynamicUser=yes -- "$P/cr-exit" --sleep 2 0
victim_out=$T_DIR/stdout
sleep 0.5
mkdir -p "$T_DIR/k"
"$CORRAL" run --json ${CR_BACKEND:+--backend "$CR_BACKEND"} -p DynamicUser=yes -- "$H" kill-all \
        </dev/null >"$T_DIR/k/stdout" 2>"$T_DIR/k/stderr"
killer=$?
[ "$killer" -le 1 ] || fail "the killer run exited $killer: $(cat "$T_DIR/k/stderr")"
cr_wait_bg
expect_exit 0
expect_json 'status == ok' 'enforcement.user == dynamic-user'
[ "$(json_get evidence.uid)" != "$("$CR_JSONCHK" "$T_DIR/k/stdout" evidence.uid)" ] ||
        fail "both runs had the same uid"
end

begin "control: two runs as the same user (User=nobody): kill(-1, SIGKILL) does kill the other"
cr_run_bg -p User=nobody -- "$P/cr-exit" --sleep 2 0
sleep 0.5
mkdir -p "$T_DIR/k"
"$CORRAL" run --json ${CR_BACKEND:+--backend "$CR_BACKEND"} -p User=nobody -- "$H" kill-all \
        </dev/null >"$T_DIR/k/stdout" 2>"$T_DIR/k/stderr"
cr_wait_bg
expect_json 'status == signaled' 'signal == 9'
end

LEFT=/tmp/corral-users-left.$$
begin "DynamicUser=yes: a file left in its private /tmp is gone after the run"
rm -f "$LEFT"
cr_run -p DynamicUser=yes -- "$H" write "$LEFT"
expect_exit 0
[ -e "$LEFT" ] && fail "$LEFT is in the host's /tmp"
rm -f "$LEFT"
end

begin "DynamicUser=yes: the system is read-only for it (writing /var fails)"
cr_run -p DynamicUser=yes -- "$H" write /var/corral-users-test
expect_exit 1
[ -e /var/corral-users-test ] && fail "/var/corral-users-test was written"
rm -f /var/corral-users-test
end

begin "User=nobody: the run is nobody"
cr_run --capture -p User=nobody -- "$H" whoami
expect_exit 0
expect_json 'enforcement.user == setresuid' 'evidence.uid == 65534'
[ "$(json_get stdout)" = 65534 ] || fail "the program says uid $(json_get stdout)"
end

begin "DynamicUser=yes -n 8: TasksMax holds exactly for the run's own uid (7 forks beside the program)"
cr_run -n 8 -p DynamicUser=yes -- "$P/cr-forks" --hold 0.3 50
expect_exit 0
expect_json 'status == ok'
case $CR_RUNG in
cgroup2) expect_json 'enforcement.tasks == cgroup' ;;
*) expect_json 'enforcement.tasks == rlimit-nproc' ;;
esac
expect_stdout_contains "cr-forks: 7 of 50 forks succeeded"
end

# max_per_dynamic_uid: the most processes any uid of the dynamic range has right now
max_per_dynamic_uid() {
        for _s in /proc/[0-9]*/status; do
                sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' "$_s" 2>/dev/null
        done | awk '$1 >= 61184 && $1 <= 65519 { n[$1]++ } END { m = 0; for (u in n) if (n[u] > m) m = n[u]; print m }'
}
begin "DynamicUser=yes -n 8: a fork bomb never has more than 8 processes and dies with the run"
cr_run_bg -n 8 -t "$((2 * CR_SLOW))s" -p DynamicUser=yes -- "$H" forkbomb
peak=0
_i=0
while [ $_i -lt $((15 * CR_SLOW)) ] && kill -0 "$CR_BG_PID" 2>/dev/null; do
        _m=$(max_per_dynamic_uid)
        [ "$_m" -gt "$peak" ] && peak=$_m
        sleep 0.1
        _i=$((_i + 1))
done
cr_wait_bg
expect_json 'status == wall_timeout'
case $CR_RUNG in
cgroup2) expect_json 'enforcement.tasks == cgroup' ;;
*) expect_json 'enforcement.tasks == rlimit-nproc' ;;
esac
[ "$peak" -le 8 ] || fail "the bomb's uid had $peak processes at once (TasksMax=8)"
[ "$peak" -ge 2 ] || fail "the bomb never ran (peak $peak processes)"
uid=$(json_get evidence.uid)
left=$(for _s in /proc/[0-9]*/status; do sed -n "s/^Uid:[[:space:]]*\($uid\)[[:space:]].*/x/p" "$_s" 2>/dev/null; done | wc -l)
[ "$left" = 0 ] || fail "$left processes of uid $uid are left after the run"
diag "fork bomb: at most $peak processes of its uid at once"
end

if setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
        begin "unprivileged: DynamicUser=yes is refused (a spawn_error), never run as the caller"
        CR_WRAP="setpriv --reuid=65534 --regid=65534 --clear-groups"
        cr_run --backend rlimit -p DynamicUser=yes -- "$H" whoami
        CR_WRAP=
        expect_exit 126
        expect_json 'status == spawn_error' 'error ~ DynamicUser=yes needs root'
        end
else
        skip "unprivileged: DynamicUser refused" "no util-linux setpriv here (busybox's cannot change uids)"
fi

finish
