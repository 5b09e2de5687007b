#!/bin/sh
# SPDX-License-Identifier: MIT
# test-valgrind-corrald.sh: one corrald under valgrind --leak-check=full --track-fds=yes
# serving one request of each status of the contract (ok, exited, signaled, wall_timeout,
# cpu_timeout, memory_limit, spawn_error, interrupted by Ctrl-C on the client: Kill)
# through `corral run --connect` (root's requests, --backend CR_BACKEND), then stopped with
# SIGTERM. Each run must keep its status and exit code; the last point needs valgrind's
# ERROR SUMMARY at 0 errors, nothing definitely (or indirectly) lost and no fd left open
# at exit that corrald did not inherit. Only corrald is traced: the workloads and the
# client are not ours here.
#
#   meson test -C build --suite valgrind         (a build without sanitizers)
. "$(dirname "$0")/../integration/lib.sh"

if ! command -v valgrind >/dev/null 2>&1; then
        echo "1..0 # SKIP valgrind is not installed (tools/bootstrap installs it)"
        exit 0
fi
if [ "$(id -u)" != 0 ]; then
        echo "1..0 # SKIP corrald runs as root here; this is uid $(id -u)"
        exit 0
fi

plan 9

SVC=$CR_WORK/svc
mkdir -p "$SVC"
SOCK=$SVC/corral.sock
VG_LOG=$SVC/valgrind.log
CONF=$SVC/corrald.conf
: >"$CONF"
# Valgrind runs corrald 20-50x slower: the runs' limits stay, the backstop grows.
backstop=120s

rm -f "$SOCK"
valgrind --leak-check=full --track-fds=yes --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --trace-children=no --child-silent-after-fork=yes \
        --log-file="$VG_LOG" "$CORRALD" --listen "$SOCK" --socket-group root --config "$CONF" \
        2>"$SVC/corrald.log" &
CD_PID=$!
_i=0
# The socket exists from bind(); corrald says "serving" once it listens.
while ! grep -q "serving" "$SVC/corrald.log" 2>/dev/null && [ $_i -lt 1200 ]; do
        kill -0 "$CD_PID" 2>/dev/null || break
        sleep 0.05
        _i=$((_i + 1))
done
if ! grep -q "serving" "$SVC/corrald.log"; then
        echo "Bail out! corrald under valgrind did not listen on $SOCK: $(tail -3 "$SVC/corrald.log")"
        kill -9 "$CD_PID" 2>/dev/null
        exit 1
fi
trap 'kill -9 "$CD_PID" 2>/dev/null' EXIT

begin "ok through corrald under valgrind"
cr_run --connect="$SOCK" -t "$backstop" -- "$P/cr-exit" 0
expect_exit 0
expect_json 'status == ok'
end

begin "exited through corrald under valgrind"
cr_run --connect="$SOCK" -t "$backstop" -- "$P/cr-exit" 3
expect_exit 3
expect_json 'status == exited' 'exit_code == 3'
end

begin "signaled through corrald under valgrind"
cr_run --connect="$SOCK" -t "$backstop" -- "$P/cr-exit" --signal SEGV
expect_exit 139
expect_json 'status == signaled' 'signal == 11'
end

begin "wall_timeout through corrald under valgrind"
cr_run --connect="$SOCK" -t 500ms -- "$P/cr-exit" --sleep inf
expect_exit 124
expect_json 'status == wall_timeout' 'evidence.limit_hit == RuntimeMaxSec'
end

begin "cpu_timeout through corrald under valgrind"
cr_run --connect="$SOCK" -c 200ms -t "$backstop" -- "$P/cr-spin" 600
expect_exit 124
expect_json 'status == cpu_timeout' 'evidence.limit_hit == CPUTimeMaxSec'
end

begin "memory_limit through corrald under valgrind"
cr_run --connect="$SOCK" -m 64M -t "$backstop" -- "$P/cr-alloc" 1024
expect_exit 137
expect_json 'status == memory_limit' 'evidence.limit_hit == MemoryMax'
end

begin "spawn_error through corrald under valgrind"
cr_run --connect="$SOCK" -- /nonexistent/cr-no-such-program
expect_exit 127
expect_json 'status == spawn_error'
end

begin "interrupted through corrald under valgrind (Ctrl-C on the client: Kill)"
cr_run_bg --connect="$SOCK" -t "$backstop" -- "$P/cr-graceful" --ready "$T_DIR/ready" "$T_DIR/cleaned"
wait_for_file "$T_DIR/ready" 60 || fail "the workload never became ready"
kill -INT "$CR_BG_PID"
cr_wait_bg 120
expect_exit 130
expect_json 'status == interrupted'
end

begin "corrald under valgrind: 0 errors, nothing lost, no fd left open, after SIGTERM"
kill -TERM "$CD_PID"
_t=0
while kill -0 "$CD_PID" 2>/dev/null && [ $_t -lt 1200 ]; do
        sleep 0.05
        _t=$((_t + 1))
done
if kill -0 "$CD_PID" 2>/dev/null; then
        fail "corrald did not stop within 60 s of SIGTERM"
        kill -9 "$CD_PID"
fi
wait "$CD_PID"
_rc=$?
trap - EXIT
[ "$_rc" = 0 ] || fail "corrald exited $_rc: $(tail -3 "$SVC/corrald.log")"
grep -q "ERROR SUMMARY: 0 errors" "$VG_LOG" || fail "valgrind: $(grep 'ERROR SUMMARY' "$VG_LOG" | tail -1)"
if ! grep -q "All heap blocks were freed" "$VG_LOG"; then
        grep -q "definitely lost: 0 bytes" "$VG_LOG" || fail "valgrind: $(grep 'definitely lost' "$VG_LOG")"
        grep -q "indirectly lost: 0 bytes" "$VG_LOG" || fail "valgrind: $(grep 'indirectly lost' "$VG_LOG")"
fi
_own=$(sed 's/^==[0-9]*== //' "$VG_LOG" | awk '
        /^Open .*(file descriptor|socket) [0-9]+:/ { if (fd != "" && !inh) print fd; fd = $0; sub(/:.*/, "", fd); sub(/.* /, "", fd); inh = 0; next }
        /<inherited from parent>/ { inh = 1 }
        END { if (fd != "" && !inh) print fd }')
[ -z "$_own" ] || fail "valgrind: corrald left fds open at exit: $_own"
sed -n 's/^==[0-9]*== *//p' "$VG_LOG" |
        grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|All heap|FILE DESCRIPTORS' |
        sed 's/ (suppressed.*//; s/^/# valgrind: /'
end

finish
