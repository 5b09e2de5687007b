#!/bin/sh
# shellcheck shell=sh disable=SC2016
# service.sh — corrald, the sandbox service: started as root, called by a real
# unprivileged user (uid 1000 in the VM, 59999 on the host) through `corral run
# --connect` and raw varlink messages (cr-varlink).
#
# Runs in the cgroup2 VM (tests/vm/init runs every suite/*.sh) and natively as the
# meson suite `service` (cgroup2-core: points that need memory/pids/cpu controllers
# say SKIP there). corrald gets its own delegated cgroup, svc-test/, with itself in
# svc-test/supervisor and its runs next to it, as under systemd with Delegate=yes.
. "$(dirname "$0")/../../integration/lib.sh"

CORRALD=${CORRALD:-}
for _c in "$(dirname "$CORRAL")/corrald" "$(dirname "$CORRAL")/../daemon/corrald"; do
        [ -z "$CORRALD" ] && [ -x "$_c" ] && CORRALD=$_c
done
if [ -z "$CORRALD" ]; then
        echo "1..0 # SKIP corrald is not built next to $CORRAL (set CORRALD)"
        exit 0
fi
if [ "$(id -u)" != 0 ]; then
        echo "1..0 # SKIP the service suite starts corrald as root; this is uid $(id -u)"
        exit 0
fi

# On the host, uids of our own that nothing else runs as: a shared host's other test
# suites run hostile programs as nobody (65534), and a kill(-1) there reaches every
# process of that uid, our clients included.
if [ "$CR_IN_VM" = 1 ]; then USR=1000 GRP=1000 OTHER=1001; else USR=59999 GRP=59999 OTHER=59998; fi
# OTHER: a second unprivileged user, in the socket's group too
SVC=$CR_WORK/svc
mkdir -p "$SVC"
chmod 0755 "$CR_WORK" "$SVC"
SOCK=$SVC/corral.sock
LOG=$SVC/corrald.log
CONF=$SVC/corrald.conf
cat >"$CONF" <<EOF
# the service suite's caps
[Daemon]
Connections=800
Jobs=600

[Quota]
Jobs=200

[User $USR]
MemoryMax=256M
Jobs=150

[User $OTHER]
Jobs=2
MemoryMaxTotal=100M
EOF

# corrald's own delegated cgroup (cgroup2 with controllers in the VM; natively where
# the host lets us make one); else it runs where this shell runs.
SVC_CG=
if [ -n "$CR_CG_BASE" ] && mkdir "$CR_CG_BASE/svc-test" 2>/dev/null; then
        SVC_CG=$CR_CG_BASE/svc-test
        if [ "$CR_IN_VM" = 1 ]; then
                echo "+memory +pids +cpu" >"$SVC_CG/cgroup.subtree_control" ||
                        echo "Bail out! cannot enable controllers in $SVC_CG"
        fi
        mkdir "$SVC_CG/supervisor"
fi

CD_PID=
start_corrald() {
        rm -f "$SOCK"
        if [ -n "$SVC_CG" ]; then
                sh -c 'echo $$ >"$1/supervisor/cgroup.procs" && shift && exec "$@"' _ "$SVC_CG" \
                        "$CORRALD" --listen "$SOCK" --socket-group "$GRP" --config "$CONF" "$@" 2>>"$LOG" &
        else
                "$CORRALD" --listen "$SOCK" --socket-group "$GRP" --config "$CONF" "$@" 2>>"$LOG" &
        fi
        CD_PID=$!
        _i=0
        while [ ! -S "$SOCK" ] && [ $_i -lt $((100 * CR_SLOW)) ]; do
                kill -0 "$CD_PID" 2>/dev/null || return 1
                sleep 0.05
                _i=$((_i + 1))
        done
        [ -S "$SOCK" ]
}

stop_corrald() {
        [ -n "$CD_PID" ] || return 0
        kill -TERM "$CD_PID" 2>/dev/null
        wait "$CD_PID" 2>/dev/null
        CD_RC=$?
        CD_PID=
}

cleanup() {
        stop_corrald
        if [ -n "$SVC_CG" ]; then
                for _g in "$SVC_CG"/run-*; do
                        [ -d "$_g" ] || continue
                        echo 1 >"$_g/cgroup.kill" 2>/dev/null
                        sleep 0.2
                        rmdir "$_g" 2>/dev/null
                done
                rmdir "$SVC_CG/supervisor" "$SVC_CG" 2>/dev/null
        fi
}
trap cleanup EXIT

# as_user CMD...: as the unprivileged client. as_other: the second one. In the
# background, use "$AS_USER"/"$AS_OTHER" (a shell function would run in a subshell,
# and $! would be that shell, not the client).
AS_USER="$P/cr-asuser $USR $GRP"
AS_OTHER="$P/cr-asuser $OTHER $OTHER,$GRP"
as_user() { $AS_USER "$@"; }
as_other() { $AS_OTHER "$@"; }

# crun ARGS...: corral run --connect --json ARGS as the client, captured like cr_run.
crun() {
        printf '%s\n' "uid $USR: corral run --connect=$SOCK --json $*" >>"$T_DIR/cmd"
        $AS_USER "$CORRAL" run --connect="$SOCK" --json "$@" <"${CR_STDIN:-/dev/null}" >"$T_DIR/stdout" \
                2>"$T_DIR/stderr"
        CR_EXIT=$?
        cr_collect
}

# vl [cr-varlink options] MESSAGE: a raw call as the client; replies in $T_DIR/vl.
vl() {
        printf '%s\n' "uid $USR: cr-varlink $*" >>"$T_DIR/cmd"
        as_user "$P/cr-varlink" "$@" >"$T_DIR/vl" 2>&1 </dev/null
        VL_EXIT=$?
}
vl_sock() {
        _m=$1
        shift
        vl "$@" "$SOCK" "$_m"
}

# still_serving: a run right after the bad input succeeds.
still_serving() {
        as_user "$CORRAL" run --connect="$SOCK" -- true </dev/null >/dev/null 2>"$T_DIR/serving" ||
                fail "corrald no longer serves: $(cat "$T_DIR/serving")"
}

run_groups() {
        [ -n "$SVC_CG" ] || return 0
        for _g in "$SVC_CG"/run-*; do [ -d "$_g" ] && echo "$_g"; done
}

uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
nfds() { ls "/proc/$1/fd" | wc -l | tr -d ' '; }

need_cgroup2() {
        if [ "$CR_RUNG" != cgroup2 ] || [ -z "$SVC_CG" ]; then
                skip "$1" "needs the cgroup2 rung with its own delegated cgroup (the VM suite has it)"
                return 1
        fi
        return 0
}

need_own_cgroup() {
        if [ -z "$SVC_CG" ]; then
                skip "$1" "corrald has no cgroup of its own here (no writable cgroup v2 base)"
                return 1
        fi
        return 0
}

plan 40

if ! start_corrald; then
        echo "Bail out! corrald did not start: $(tail -n 5 "$LOG")"
        exit 1
fi

# ---- introspection ----

begin "org.varlink.service.GetInfo names the service and its interfaces"
vl_sock '{"method":"org.varlink.service.GetInfo"}'
[ "$VL_EXIT" = 0 ] || fail "cr-varlink exit $VL_EXIT: $(cat "$T_DIR/vl")"
grep -q '"interfaces":\["org.varlink.service","io.corral.Sandbox"\]' "$T_DIR/vl" || fail "reply: $(cat "$T_DIR/vl")"
grep -q '"product":"corrald"' "$T_DIR/vl" || fail "no product"
end

begin "GetInterfaceDescription serves io.corral.Sandbox.varlink"
vl_sock '{"method":"org.varlink.service.GetInterfaceDescription","parameters":{"interface":"io.corral.Sandbox"}}'
grep -q 'interface io.corral.Sandbox' "$T_DIR/vl" || fail "no interface line: $(head -c 300 "$T_DIR/vl")"
grep -q 'method Run(' "$T_DIR/vl" || fail "no Run method"
vl_sock '{"method":"org.varlink.service.GetInterfaceDescription","parameters":{"interface":"no.such"}}'
grep -q 'org.varlink.service.InterfaceNotFound' "$T_DIR/vl" || fail "unknown interface: $(cat "$T_DIR/vl")"
end

begin "corral doctor --connect reports what corrald's runs would use"
as_user "$CORRAL" doctor --json --connect="$SOCK" >"$T_DIR/stdout" 2>"$T_DIR/stderr"
CR_EXIT=$?
cr_collect
expect_json "chosen == $CR_RUNG"
[ "$CR_RUNG" = cgroup2 ] && { expect_exit 0; expect_json 'rungs.cgroup2.usable == true'; }
[ -n "$SVC_CG" ] && expect_json "cgroup_base ~ svc-test"
end

# ---- runs as the caller, with the right verdicts ----

begin "a run through corrald runs as the caller (id -u prints $USR) on the $CR_RUNG rung"
crun -- sh -c 'id -u; id -g'
expect_exit 0
expect_json 'status == ok' 'exit_code == 0'
[ "$(sed -n 1p "$T_DIR/stdout")" = "$USR" ] || fail "id -u printed '$(sed -n 1p "$T_DIR/stdout")', expected $USR"
[ "$(sed -n 2p "$T_DIR/stdout")" = "$GRP" ] || fail "id -g printed '$(sed -n 2p "$T_DIR/stdout")', expected $GRP"
expect_backend
[ "$CR_RUNG" = cgroup2 ] && expect_json 'precise == true'
end

begin "stdout and stderr are the client's own fds (the daemon copies nothing)"
crun -- sh -c 'echo to-out; echo to-err >&2'
expect_exit 0
grep -qx to-out "$T_DIR/stdout" || fail "stdout lacks to-out"
grep -qx to-err "$T_DIR/stderr" || fail "stderr lacks to-err"
end

begin "stdin and the working directory come from the client"
mkdir -p "$T_DIR/wd"
chown "$USR:$GRP" "$T_DIR/wd"
echo from-stdin >"$T_DIR/in"
cd "$T_DIR/wd" && CR_STDIN=$T_DIR/in crun -- sh -c 'cat; pwd'
cd "$CR_WORK" || exit 1
expect_exit 0
grep -qx from-stdin "$T_DIR/stdout" || fail "stdin did not arrive"
grep -qx "$T_DIR/wd" "$T_DIR/stdout" || fail "cwd is not $T_DIR/wd: $(cat "$T_DIR/stdout")"
end

begin "the environment is the client's, nothing from the daemon"
FOO_FROM_CLIENT=42 crun -- sh -c 'echo "foo=$FOO_FROM_CLIENT"; env | grep -c "^LISTEN_\|^NOTIFY_SOCKET=" || true'
grep -qx 'foo=42' "$T_DIR/stdout" || fail "client's variable missing"
end

begin "wall clock limit: wall_timeout, exit 124"
crun -t 1s -- sleep 30
expect_exit 124
expect_json 'status == wall_timeout' 'evidence.limit_hit == RuntimeMaxSec'
end

begin "CPU time limit: cpu_timeout, exit 124"
crun -c 500ms -t $((60 * CR_SLOW))s -- "$P/cr-spin" 600
expect_exit 124
expect_json 'status == cpu_timeout' 'evidence.limit_hit == CPUTimeMaxSec'
end

if need_cgroup2 "memory limit: memory_limit, exit 137 (the kernel's OOM kill)"; then
        begin "memory limit: memory_limit, exit 137 (the kernel's OOM kill)"
        crun -m 32M -t $((60 * CR_SLOW))s -- "$P/cr-alloc" 256
        expect_exit 137
        expect_json 'status == memory_limit' 'oom_kills >= 1' 'precise == true'
        end
fi

begin "a command killed by a signal: signaled, exit 128+N"
crun -- sh -c 'kill -9 $$'
expect_exit 137
expect_json 'status == signaled' 'signal == 9'
end

begin "a command that exits 3: exited, exit 3"
crun -- sh -c 'exit 3'
expect_exit 3
expect_json 'status == exited' 'exit_code == 3'
end

begin "a command that is not there: spawn_error, exit 127"
crun -- /no/such/command
expect_exit 127
expect_json 'status == spawn_error'
end

# ---- who may do what ----

begin "a request over the caller's MemoryMax cap: QuotaExceeded, nothing started"
_before=$(run_groups | wc -l)
crun -m 512M -- sh -c "touch $T_DIR/ran"
expect_exit 125
expect_stderr_contains "QuotaExceeded"
expect_stderr_contains "MemoryMax"
[ -e "$T_DIR/ran" ] && fail "the command ran"
[ "$(run_groups | wc -l)" = "$_before" ] || fail "a run group was created"
end

begin "an unset MemoryMax gets the caller's cap"
crun -- true
expect_json 'evidence.memory_max_bytes == 268435456'
end

begin "MemoryMaxTotal: the sum over a user's running jobs is capped"
$AS_OTHER "$CORRAL" run --connect="$SOCK" -m 60M -- sleep 30 </dev/null >/dev/null 2>&1 &
_bg=$!
_i=0
while ! as_other "$P/cr-varlink" "$SOCK" '{"method":"io.corral.Sandbox.List"}' 2>/dev/null | grep -q '"id"'; do
        _i=$((_i + 1))
        [ $_i -gt $((50 * CR_SLOW)) ] && break
        sleep 0.1
done
as_other "$CORRAL" run --connect="$SOCK" -m 60M -- true </dev/null >"$T_DIR/stdout" 2>"$T_DIR/stderr"
CR_EXIT=$?
expect_exit 125
expect_stderr_contains "MemoryMaxTotal"
kill -INT $_bg 2>/dev/null
wait $_bg
end

begin "Jobs: a user's running jobs are capped"
for _k in 1 2; do
        $AS_OTHER "$CORRAL" run --connect="$SOCK" -m 10M -- sleep 30 </dev/null >/dev/null 2>&1 &
        eval "_bg$_k=\$!"
done
_i=0
while [ "$(as_other "$P/cr-varlink" "$SOCK" '{"method":"io.corral.Sandbox.List"}' 2>/dev/null | grep -o '"id"' | wc -l)" -lt 2 ]; do
        _i=$((_i + 1))
        [ $_i -gt $((50 * CR_SLOW)) ] && break
        sleep 0.1
done
as_other "$CORRAL" run --connect="$SOCK" -m 10M -- true </dev/null >"$T_DIR/stdout" 2>"$T_DIR/stderr"
CR_EXIT=$?
expect_exit 125
expect_stderr_contains "QuotaExceeded"
expect_stderr_contains "Jobs"
kill -INT "$_bg1" "$_bg2" 2>/dev/null
wait "$_bg1" "$_bg2"
end

begin "Backend= from a non-root client is refused (PermissionDenied)"
crun -p Backend=rlimit -- true
expect_exit 125
expect_stderr_contains "PermissionDenied"
expect_stderr_contains "Backend"
end

begin "CGroupBase= in a request is refused (it would move corrald and every later run)"
crun -p CGroupBase=/sys/fs/cgroup/elsewhere -- true
expect_exit 125
expect_stderr_contains "PermissionDenied"
expect_stderr_contains "CGroupBase"
end

begin "a non-root client's run has no_new_privs (no setuid program under a view root built)"
crun -- grep NoNewPrivs /proc/self/status
expect_exit 0
expect_stdout_contains "NoNewPrivs:	1"
expect_json 'status == ok' 'enforcement.no_new_privileges == prctl'
end

begin "PrivatePIDs=yes for a non-root client: its init (pid 1) runs as the client too, without capabilities"
crun --capture -p PrivatePIDs=yes -- sh -c 'echo $$; grep -E "^(Uid|Gid|CapEff):" /proc/1/status'
expect_exit 0
expect_json 'status == ok' 'enforcement.private_pids == pid-ns'
_out=$(json_get stdout)
[ "$(echo "$_out" | sed -n 1p)" = 2 ] || fail "the program is pid '$(echo "$_out" | sed -n 1p)', expected 2"
echo "$_out" | grep -q "^Uid:[[:space:]]*$USR[[:space:]]*$USR[[:space:]]*$USR[[:space:]]*$USR" ||
        fail "pid 1 is not uid $USR: $(echo "$_out" | grep Uid)"
echo "$_out" | grep -q "^Gid:[[:space:]]*$GRP[[:space:]]" || fail "pid 1 is not gid $GRP: $(echo "$_out" | grep Gid)"
echo "$_out" | grep -q '^CapEff:[[:space:]]*0*$' || fail "pid 1 has capabilities: $(echo "$_out" | grep CapEff)"
end

begin "Kill of another user's job: PermissionDenied; the owner's Kill: interrupted, exit 130"
$AS_USER "$P/cr-sigdfl" "$CORRAL" run --connect="$SOCK" --json -- sleep 30 </dev/null >"$T_DIR/stdout" 2>"$T_DIR/stderr" &
_bg=$!
_id=
_i=0
while [ -z "$_id" ] && [ $_i -lt $((50 * CR_SLOW)) ]; do
        _id=$(as_user "$P/cr-varlink" "$SOCK" '{"method":"io.corral.Sandbox.List"}' 2>/dev/null |
                sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' | head -n 1)
        _i=$((_i + 1))
        [ -z "$_id" ] && sleep 0.1
done
[ -n "$_id" ] || fail "List never showed the job"
as_other "$P/cr-varlink" "$SOCK" "{\"method\":\"io.corral.Sandbox.Kill\",\"parameters\":{\"id\":\"$_id\"}}" >"$T_DIR/vl" 2>&1
grep -q 'io.corral.Sandbox.PermissionDenied' "$T_DIR/vl" || fail "other uid's Kill: $(cat "$T_DIR/vl")"
as_other "$P/cr-varlink" "$SOCK" '{"method":"io.corral.Sandbox.List"}' >"$T_DIR/vl2" 2>&1
grep -q "\"id\":\"$_id\"" "$T_DIR/vl2" && fail "List shows another user's job to $OTHER"
as_user "$P/cr-varlink" "$SOCK" "{\"method\":\"io.corral.Sandbox.Kill\",\"parameters\":{\"id\":\"$_id\"}}" >"$T_DIR/vl" 2>&1 ||
        fail "owner's Kill: $(cat "$T_DIR/vl")"
wait $_bg
CR_EXIT=$?
cr_collect
expect_exit 130
expect_json 'status == interrupted'
end

begin "Ctrl-C on corral run --connect: Kill, interrupted, exit 130"
$AS_USER "$P/cr-sigdfl" "$CORRAL" run --connect="$SOCK" --json -- sleep 30 </dev/null >"$T_DIR/stdout" 2>"$T_DIR/stderr" &
_bg=$!
sleep $((1 * CR_SLOW))
kill -INT $_bg
wait $_bg
CR_EXIT=$?
cr_collect
expect_exit 130
expect_json 'status == interrupted' 'evidence.limit_hit == Interrupt'
end

# ---- bad input: an error or a closed connection, and corrald keeps serving ----

begin "not JSON: the connection is closed; corrald serves the next client"
vl_sock 'hello, corrald'
grep -qx closed "$T_DIR/vl" || fail "got: $(cat "$T_DIR/vl")"
still_serving
end

begin "a truncated message (EOF before its NUL): closed; corrald serves the next client"
vl_sock '{"method":"io.corral.Sandbox.Ping"' --no-nul
grep -qx closed "$T_DIR/vl" || fail "got: $(cat "$T_DIR/vl")"
still_serving
end

begin "an oversized message (2 MiB): closed; corrald serves the next client"
vl_sock '{"method":"io.corral.Sandbox.Ping"}' --pad 2000000
grep -qx closed "$T_DIR/vl" || fail "got: $(cat "$T_DIR/vl")"
still_serving
end

begin "duplicate keys: closed; corrald serves the next client"
vl_sock '{"method":"io.corral.Sandbox.Ping","method":"io.corral.Sandbox.List"}'
grep -qx closed "$T_DIR/vl" || fail "got: $(cat "$T_DIR/vl")"
still_serving
end

begin "wrong types: InvalidParameter naming the parameter"
vl_sock '{"method":"io.corral.Sandbox.Run","parameters":{"argv":"sh"}}'
grep -q '"error":"io.corral.Sandbox.InvalidParameter".*"parameter":"argv"' "$T_DIR/vl" || fail "got: $(cat "$T_DIR/vl")"
vl_sock '{"method":"io.corral.Sandbox.Run","parameters":{"argv":["true"],"properties":["MemoryMax=12Q"]}}'
grep -q '"parameter":"properties".*12Q' "$T_DIR/vl" || fail "bad value: $(cat "$T_DIR/vl")"
vl_sock '{"method":"io.corral.Sandbox.Run","parameters":{"argv":["true"],"colour":"red"}}'
grep -q '"parameter":"colour"' "$T_DIR/vl" || fail "unknown field: $(cat "$T_DIR/vl")"
still_serving
end

begin "a policy name the daemon does not have: PolicyNotFound"
vl_sock '{"method":"io.corral.Sandbox.Run","parameters":{"argv":["true"],"policy":"no-such-policy"}}'
grep -q '"error":"io.corral.Sandbox.PolicyNotFound".*no-such-policy' "$T_DIR/vl" || fail "got: $(cat "$T_DIR/vl")"
vl_sock '{"method":"io.corral.Sandbox.Run","parameters":{"argv":["true"],"policy":"../etc/passwd"}}'
grep -q '"error":"io.corral.Sandbox.\(InvalidParameter\|PolicyNotFound\)"' "$T_DIR/vl" || fail "a path: $(cat "$T_DIR/vl")"
end

begin "an unknown method: MethodNotFound"
vl_sock '{"method":"io.corral.Sandbox.Explode"}'
grep -q '"error":"org.varlink.service.MethodNotFound"' "$T_DIR/vl" || fail "got: $(cat "$T_DIR/vl")"
still_serving
end

begin "fds missing or too many: InvalidParameter; corrald serves the next client"
vl_sock '{"method":"io.corral.Sandbox.Run","parameters":{"argv":["true"],"stdout":0}}'
grep -q '"parameter":"stdout"' "$T_DIR/vl" || fail "missing fd: $(cat "$T_DIR/vl")"
vl_sock '{"method":"io.corral.Sandbox.Run","parameters":{"argv":["true"],"stdout":0}}' \
        --fd 1 --fd 1 --fd 1 --fd 1 --fd 1 --fd 1 --fd 1 --fd 1 --fd 1
grep -q '"parameter":"fds"' "$T_DIR/vl" || fail "9 fds: $(cat "$T_DIR/vl")"
vl_sock '{"method":"io.corral.Sandbox.Run","parameters":{"argv":["true"]}}' --fd 1
grep -q '"parameter":"fds"' "$T_DIR/vl" || fail "an unreferenced fd: $(cat "$T_DIR/vl")"
vl_sock '{"method":"io.corral.Sandbox.Ping"}' --fd 1
grep -q '"parameter":"fds"' "$T_DIR/vl" || fail "fds with Ping: $(cat "$T_DIR/vl")"
still_serving
end

begin "a client that sends half a message and stalls does not hold up the others"
$AS_USER "$P/cr-varlink" --half $((3 * CR_SLOW)) "$SOCK" '{"method":"io.corral.Sandbox.Ping"}' >/dev/null 2>&1 &
_stall=$!
sleep 0.3
_t0=$(uptime_ms)
still_serving
_t1=$(uptime_ms)
kill -0 $_stall 2>/dev/null || fail "the stalling client was gone before the run ended"
[ $((_t1 - _t0)) -lt $((2000 * CR_SLOW)) ] || fail "the run took $((_t1 - _t0)) ms"
wait $_stall
still_serving
end

# ---- load: 100 clients x 10 runs ----

begin "100 clients x 10 runs at once: every result ok, nothing left, RSS back within 1 MiB"
for _k in 1 2 3 4 5 6 7 8 9 10; do as_user "$CORRAL" run --connect="$SOCK" -- true </dev/null >/dev/null 2>&1; done
_rss0=$(rss_kib "$CD_PID")
_fds0=$(nfds "$CD_PID")
mkdir -p "$T_DIR/load"
chmod 0777 "$T_DIR/load"
_c=1
_loaders=
while [ $_c -le 100 ]; do
        $AS_USER sh -c '
                for i in 1 2 3 4 5 6 7 8 9 10; do
                        "$1" run --connect="$2" --json -- true </dev/null >"$3.$i" 2>&1
                        echo $? >>"$3.rc"
                done' _ "$CORRAL" "$SOCK" "$T_DIR/load/$_c" &
        _loaders="$_loaders $!"
        _c=$((_c + 1))
done
# shellcheck disable=SC2086
wait $_loaders
_ok=$(cat "$T_DIR"/load/*.rc | grep -cx 0)
_n=$(cat "$T_DIR"/load/*.rc | wc -l | tr -d ' ')
[ "$_n" = 1000 ] || fail "$_n runs reported, expected 1000"
[ "$_ok" = 1000 ] || fail "$_ok of $_n runs exited 0; first failure: $(grep -lvx 0 "$T_DIR"/load/*.rc | head -n 1)"
_okjson=$(cat "$T_DIR"/load/*.[0-9]* | grep -c '"status": "ok"')
[ "$_okjson" = 1000 ] || fail "$_okjson results say status ok"
sleep 0.5
[ -z "$(run_groups)" ] || fail "run groups left: $(run_groups)"
# corrald gives memory back once it has been idle for 100 ms (and has seen every client
# go): wait for that, up to 5 s (x10 in the VM), rather than sample once.
_i=0
while :; do
        _rss1=$(rss_kib "$CD_PID")
        [ $((_rss1 - _rss0)) -le 1024 ] && [ $((_rss0 - _rss1)) -le 1024 ] && break
        [ $_i -ge $((20 * CR_SLOW)) ] && break
        sleep 0.25
        _i=$((_i + 1))
done
_fds1=$(nfds "$CD_PID")
diag "corrald RSS ${_rss0} KiB before, ${_rss1} KiB after; fds $_fds0 before, $_fds1 after"
# Under ASan (CR_SANITIZED=1, .ci/run's sanitizer stage) freed memory waits in its
# quarantine and RSS says nothing about leaks: LeakSanitizer checks those at exit instead.
if [ "${CR_SANITIZED:-0}" = 1 ]; then
        diag "(sanitized build: the RSS bound is not checked, LeakSanitizer is)"
else
        [ $((_rss1 - _rss0)) -le 1024 ] && [ $((_rss0 - _rss1)) -le 1024 ] || fail "RSS ${_rss0} -> ${_rss1} KiB"
fi
[ "$_fds1" = "$_fds0" ] || fail "fds $_fds0 -> $_fds1"
if [ -n "$SVC_CG" ]; then
        _procs=$(wc -l <"$SVC_CG/supervisor/cgroup.procs" | tr -d ' ')
        [ "$_procs" = 1 ] || fail "$_procs processes in corrald's cgroup, expected corrald alone"
fi
_jobs=$(as_user "$P/cr-varlink" "$SOCK" '{"method":"io.corral.Sandbox.Ping"}' | sed -n 's/.*"jobs":\([0-9]*\).*/\1/p')
[ "$_jobs" = 0 ] || fail "Ping says $_jobs jobs"
end

begin "bounds: 200 idle connections and 500 concurrent jobs (100 in the VM), all ok, memory given back"
if [ "$CR_IN_VM" = 1 ]; then _jobs=100 _secs=40; else _jobs=500 _secs=10; fi
_rss0=$(rss_kib "$CD_PID")
"$P/cr-clients" "$SOCK" 200 "$_jobs" "$_secs" >"$T_DIR/stdout" 2>"$T_DIR/stderr"
CR_EXIT=$?
expect_exit 0
grep -qx "ok $_jobs of $_jobs" "$T_DIR/stdout" || fail "$(cat "$T_DIR/stdout" "$T_DIR/stderr" | tail -n 3)"
grep -q "^running $_jobs," "$T_DIR/stdout" || fail "not all ran at once: $(head -n 1 "$T_DIR/stdout")"
# As above: corrald gives memory back once idle (100 ms, every client gone), which a busy
# host delays; wait for it, up to 5 s (x10 in the VM), rather than sample once (a single
# sample 0.5 s after the jobs once read +2080 KiB with a fuzzer on the other CPU).
_i=0
while :; do
        _rss1=$(rss_kib "$CD_PID")
        [ $((_rss1 - _rss0)) -le 2048 ] && break
        [ $_i -ge $((20 * CR_SLOW)) ] && break
        sleep 0.25
        _i=$((_i + 1))
done
diag "corrald RSS ${_rss0} KiB before, ${_rss1} KiB after $_jobs concurrent jobs and 200 idle clients"
if [ "${CR_SANITIZED:-0}" = 1 ]; then
        diag "(sanitized build: the RSS bound is not checked, LeakSanitizer is)"
else
        [ $((_rss1 - _rss0)) -le 2048 ] || fail "RSS ${_rss0} -> ${_rss1} KiB"
fi
[ -z "$(run_groups)" ] || fail "run groups left: $(run_groups)"
end

# ---- lifecycle ----

if need_own_cgroup "a client killed mid-run: its job is stopped and its group removed within grace + 100 ms"; then
begin "a client killed mid-run: its job is stopped and its group removed within grace + 100 ms"
chmod 0777 "$T_DIR"
$AS_USER "$CORRAL" run --connect="$SOCK" -p TimeoutStopSec=200ms -- "$P/cr-tree" "$T_DIR/pids" \
        </dev/null >/dev/null 2>&1 &
_bg=$!
wait_for_file "$T_DIR/pids" || fail "cr-tree never wrote its pids"
_t0=$(uptime_ms)
kill -9 $_bg
_i=0
while [ -n "$(run_groups)" ] && [ $_i -lt $((400 * CR_SLOW)) ]; do
        sleep 0.01
        _i=$((_i + 1))
done
_t1=$(uptime_ms)
wait $_bg 2>/dev/null
diag "job stopped and group removed $((_t1 - _t0)) ms after the client died (grace 200 ms)"
[ -z "$(run_groups)" ] || fail "the group is still there after $((_t1 - _t0)) ms"
[ $((_t1 - _t0)) -le $((300 * CR_SLOW)) ] || fail "took $((_t1 - _t0)) ms, more than grace + 100 ms"
[ -z "$(pids_alive "$T_DIR/pids")" ] || fail "survivors: $(pids_alive "$T_DIR/pids")"
grep -q 'client disconnected' "$LOG" || fail "not logged"
end
fi

if need_own_cgroup "two daemons on one base: the second refuses to start (the base is locked)"; then
begin "two daemons on one base: the second refuses to start (the base is locked)"
        sh -c 'echo $$ >"$1/supervisor/cgroup.procs" && exec "$2" --listen "$3" --config "$4"' _ "$SVC_CG" \
                "$CORRALD" "$SVC/second.sock" "$CONF" >"$T_DIR/second.out" 2>&1 &
        _second=$!
        _i=0
        while kill -0 $_second 2>/dev/null && [ $_i -lt $((50 * CR_SLOW)) ]; do
                sleep 0.1
                _i=$((_i + 1))
        done
        if kill -0 $_second 2>/dev/null; then
                fail "a second corrald serves the same base"
                kill -TERM $_second
        fi
        wait $_second
        [ $? != 0 ] || fail "the second corrald exited 0"
        grep -qi 'lock\|another' "$T_DIR/second.out" || fail "no reason given: $(cat "$T_DIR/second.out")"
        still_serving
end
fi

begin "SIGTERM: every job interrupted, each client gets its result, exit 0 within grace + 1 s"
$AS_USER "$P/cr-sigdfl" "$CORRAL" run --connect="$SOCK" --json -- sleep 30 </dev/null >"$T_DIR/stdout" 2>"$T_DIR/stderr" &
_bg=$!
sleep $((1 * CR_SLOW))
_t0=$(uptime_ms)
stop_corrald
_t1=$(uptime_ms)
wait $_bg
CR_EXIT=$?
cr_collect
[ "$CD_RC" = 0 ] || fail "corrald exited $CD_RC"
diag "corrald stopped in $((_t1 - _t0)) ms"
[ $((_t1 - _t0)) -le $((1200 * CR_SLOW)) ] || fail "took $((_t1 - _t0)) ms (grace 200 ms + 1 s)"
expect_exit 130
expect_json 'status == interrupted'
[ -S "$SOCK" ] && fail "the socket is still there"
start_corrald || fail "corrald did not start again"
end

if need_own_cgroup "kill -9 of corrald with 20 hostile jobs: after restart 0 survivors, 0 run groups, each sweep logged"; then
begin "kill -9 of corrald with 20 hostile jobs: after restart 0 survivors, 0 run groups, each sweep logged"
chmod 0777 "$T_DIR"
        _k=1
        _clients=
        while [ $_k -le 20 ]; do
                $AS_USER "$CORRAL" run --connect="$SOCK" -- "$P/cr-tree" "$T_DIR/pids.$_k" </dev/null >/dev/null 2>&1 &
                _clients="$_clients $!"
                _k=$((_k + 1))
        done
        _k=1
        while [ $_k -le 20 ]; do
                wait_for_file "$T_DIR/pids.$_k" $((30 * CR_SLOW)) || fail "tree $_k never started"
                _k=$((_k + 1))
        done
        _groups=$(run_groups | wc -l | tr -d ' ')
        [ "$_groups" = 20 ] || fail "$_groups run groups before the crash, expected 20"
        kill -9 "$CD_PID"
        wait "$CD_PID" 2>/dev/null
        CD_PID=
        # shellcheck disable=SC2086
        wait $_clients
        _swept0=$(grep -c 'swept' "$LOG")
        start_corrald || fail "corrald did not restart"
        _swept=$(($(grep -c 'swept' "$LOG") - _swept0))
        [ "$_swept" = 20 ] || fail "$_swept sweeps logged, expected 20"
        [ -z "$(run_groups)" ] || fail "run groups after restart: $(run_groups)"
        _alive=$(cat "$T_DIR"/pids.* | while read -r _pid _role; do
                kill -0 "$_pid" 2>/dev/null && [ "$(proc_state "$_pid")" != Z ] && echo "$_pid"
        done | wc -l | tr -d ' ')
        [ "$_alive" = 0 ] || fail "$_alive processes survived"
        still_serving
end
fi

begin "socket activation (systemd-socket-activate) and sd_notify READY=1"
if command -v systemd-socket-activate >/dev/null; then
        _asock=$SVC/activated.sock
        _nsock=$SVC/notify.sock
        "$P/cr-notify" "$_nsock" $((20 * CR_SLOW)) >"$T_DIR/notify" 2>&1 &
        _notify=$!
        sleep 0.2
        # the activated daemon gets its own base (another lock) in a cgroup next to the first
        _acg=
        if [ -n "$SVC_CG" ] && mkdir -p "$CR_CG_BASE/svc-act/supervisor" 2>/dev/null; then
                _acg=$CR_CG_BASE/svc-act
                [ "$CR_IN_VM" = 1 ] && echo "+memory +pids +cpu" >"$_acg/cgroup.subtree_control"
        fi
        sh -c '[ -n "$1" ] && echo $$ >"$1/supervisor/cgroup.procs"; shift; exec "$@"' _ "$_acg" \
                systemd-socket-activate -l "$_asock" --fdname=varlink -E NOTIFY_SOCKET="$_nsock" \
                "$CORRALD" --config "$CONF" >"$T_DIR/act.out" 2>&1 &
        _act=$!
        wait_for_file "$_asock" || fail "systemd-socket-activate did not listen"
        chmod 0666 "$_asock"
        as_user "$P/cr-varlink" "$_asock" '{"method":"io.corral.Sandbox.Ping"}' >"$T_DIR/vl" 2>&1 ||
                fail "Ping over the activated socket: $(cat "$T_DIR/vl") $(cat "$T_DIR/act.out")"
        as_user "$CORRAL" run --connect="$_asock" --json -- sh -c 'id -u' </dev/null >"$T_DIR/stdout" 2>"$T_DIR/stderr"
        CR_EXIT=$?
        cr_collect
        expect_exit 0
        [ "$(sed -n 1p "$T_DIR/stdout")" = "$USR" ] || fail "id -u: $(sed -n 1p "$T_DIR/stdout")"
        wait $_notify || fail "no READY=1 on NOTIFY_SOCKET: $(cat "$T_DIR/notify")"
        grep -q 'READY=1' "$T_DIR/notify" || fail "notify: $(cat "$T_DIR/notify")"
        grep -q 'serving.*sockets from systemd' "$T_DIR/act.out" || fail "did not use the activated socket: $(cat "$T_DIR/act.out")"
        kill -TERM $_act
        wait $_act
        [ $? = 0 ] || fail "the activated corrald did not exit 0 on SIGTERM"
        [ -n "$_acg" ] && rmdir "$_acg/supervisor" "$_acg" 2>/dev/null
else
        fail "systemd-socket-activate is not installed (Debian's systemd package)"
fi
end

begin "one log line per job: id, uid, argv[0], status, wall, peak"
grep -q "^corrald: job [0-9]* uid $USR sh: ok wall [0-9.]*s peak [0-9.]*[KM]" "$LOG" || fail "no such line in $LOG"
end

finish
