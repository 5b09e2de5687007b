#!/bin/sh
# SPDX-License-Identifier: MIT
# test-valgrind.sh: `corral run` under valgrind --leak-check=full, once per status of
# the contract (ok, exited, signaled, wall_timeout, cpu_timeout, memory_limit,
# spawn_error, interrupted) on the rung CR_BACKEND. Each test point needs valgrind's
# ERROR SUMMARY at 0 errors, nothing definitely (or indirectly) lost, and the run's
# own status and exit code (valgrind must not change the verdict), and no fd left open
# at exit that corral did not inherit (--track-fds). Only corral is
# traced (--trace-children=no): the workloads are not ours.
#
#   meson test -C build --suite valgrind         (a build without sanitizers)
#
# Valgrind refuses clone3 (ENOSYS), so these runs also take spawn.c's clone fallback.
. "$(dirname "$0")/../integration/lib.sh"

if ! command -v valgrind >/dev/null 2>&1; then
        echo "1..0 # SKIP valgrind is not installed (tools/bootstrap installs it)"
        exit 0
fi

plan 8

VG_LOGS=$CR_WORK/logs
mkdir -p "$VG_LOGS"
# Valgrind runs corral 20-50x slower: the limits stay, the backstop grows.
backstop=120s

# vg_check NAME: valgrind's verdict on the log of the last cr_run.
vg_check() {
        _log=$VG_LOGS/$1.log
        if ! grep -q "ERROR SUMMARY: 0 errors" "$_log"; then
                fail "valgrind: $(grep 'ERROR SUMMARY' "$_log" | tail -1)"
        fi
        # "All heap blocks were freed" or a LEAK SUMMARY with 0 definitely/indirectly lost.
        if ! grep -q "All heap blocks were freed" "$_log"; then
                grep -q "definitely lost: 0 bytes" "$_log" || fail "valgrind: $(grep 'definitely lost' "$_log")"
                grep -q "indirectly lost: 0 bytes" "$_log" || fail "valgrind: $(grep 'indirectly lost' "$_log")"
        fi
        # Every fd open at corral's exit must be one it inherited (--track-fds).
        _own=$(sed 's/^==[0-9]*== //' "$_log" | awk '
                /^Open .*(file descriptor|socket) [0-9]+:/ { if (fd != "" && !inh) print fd; fd = $0; sub(/:.*/, "", fd); sub(/.* /, "", fd); inh = 0; next }
                /<inherited from parent>/ { inh = 1 }
                END { if (fd != "" && !inh) print fd }')
        [ -z "$_own" ] || fail "valgrind: corral left fds open at exit: $_own"
        sed -n 's/^==[0-9]*== *//p' "$_log" |
                grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|All heap|FILE DESCRIPTORS' |
                sed 's/ (suppressed.*//; s/^/# valgrind: /'
}

vg() {
        _name=$1
        shift
        CR_WRAP="valgrind --leak-check=full --track-fds=yes --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --trace-children=no --child-silent-after-fork=yes --log-file=$VG_LOGS/$_name.log"
}

begin "ok under valgrind: 0 errors, nothing lost"
vg ok
cr_run -t "$backstop" -- "$P/cr-exit" 0
expect_exit 0
expect_json 'status == ok'
vg_check ok
end

begin "exited under valgrind"
vg exited
cr_run -t "$backstop" -- "$P/cr-exit" 3
expect_exit 3
expect_json 'status == exited' 'exit_code == 3'
vg_check exited
end

begin "signaled under valgrind"
vg signaled
cr_run -t "$backstop" -- "$P/cr-exit" --signal SEGV
expect_exit 139
expect_json 'status == signaled' 'signal == 11'
vg_check signaled
end

begin "wall_timeout under valgrind"
vg wall
cr_run -t 500ms -- "$P/cr-exit" --sleep inf
expect_exit 124
expect_json 'status == wall_timeout' 'evidence.limit_hit == RuntimeMaxSec'
vg_check wall
end

begin "cpu_timeout under valgrind"
vg cpu
cr_run -c 200ms -t "$backstop" -- "$P/cr-spin" 600
expect_exit 124
expect_json 'status == cpu_timeout' 'evidence.limit_hit == CPUTimeMaxSec'
vg_check cpu
end

begin "memory_limit under valgrind"
vg memory
cr_run -m 64M -t "$backstop" -- "$P/cr-alloc" 1024
expect_exit 137
expect_json 'status == memory_limit' 'evidence.limit_hit == MemoryMax'
vg_check memory
end

begin "spawn_error under valgrind"
vg spawn
cr_run -- /nonexistent/cr-no-such-program
expect_exit 127
expect_json 'status == spawn_error'
vg_check spawn
end

begin "interrupted under valgrind (SIGTERM to corral)"
vg interrupted
cr_run_bg -t "$backstop" -- "$P/cr-graceful" --ready "$T_DIR/ready" "$T_DIR/cleaned"
# valgrind starts slowly: give the workload time to be ready
wait_for_file "$T_DIR/ready" 60 || fail "the workload never became ready"
kill -TERM "$CR_BG_PID"
cr_wait_bg 120
expect_exit 130
expect_json 'status == interrupted' 'evidence.limit_hit == Interrupt'
vg_check interrupted
end

finish
