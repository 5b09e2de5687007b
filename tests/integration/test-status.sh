#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Every status of the contract (SPEC "Result") reached by a real program, with
# its exit code and the enforcement/evidence that the rung can honestly give:
# cgroup2 (VM) kills and counts with the kernel; cgroup2-core and rlimit infer
# memory verdicts (precise false) and enforce memory with RLIMIT_DATA.

. "$(dirname "$0")/lib.sh"

plan 18

MIB=1048576
backstop="$((120 * CR_SLOW))s" # a limit that is not under test never lets a run hang

# The monitor compares the group's exact CPU time (cpu.stat) with the budget. The
# kernel checks RLIMIT_CPU against tick-sampled time, which on a loaded or
# virtualised host runs ahead of the exact time rusage reports (seen: SIGXCPU at
# 0.79 s of rusage time under `ulimit -t 1`, no corral involved).
case $CR_RUNG in
cgroup2 | cgroup2-core) cpu_enforcer=monitor cpu_min=0.9 ;;
*) cpu_enforcer=rlimit-cpu cpu_min=0.5 ;;
esac

# ---- plain endings ----

begin "ok: a program that exits 0"
cr_run -- "$P/cr-exit" 0
expect_exit 0
expect_backend
expect_json 'status == ok' 'exit_code == 0' 'signal == null' 'error == null' \
        'wall_time_s >= 0' 'cpu_time_s >= 0' 'evidence.limit_hit == null' 'evidence.signals_sent.# == 0'
# enforcement lists only limits the policy set: none here
expect_json 'enforcement.memory == <absent>' 'enforcement.tasks == <absent>' \
        'enforcement.cpu_quota == <absent>' 'enforcement.cpu_time == <absent>' \
        'enforcement.wall_time == <absent>'
[ "$CR_RUNG" = cgroup2 ] && expect_json 'precise == true'

begin "exited: a program that exits 3"
cr_run -- "$P/cr-exit" 3
expect_exit 3
expect_backend
expect_json 'status == exited' 'exit_code == 3' 'signal == null' 'error == null' \
        'evidence.limit_hit == null'

begin "signaled: a program that kills itself with SIGSEGV"
cr_run -- "$P/cr-exit" --signal SEGV
expect_exit 139
expect_backend
expect_json 'status == signaled' 'exit_code == null' 'signal == 11' 'evidence.limit_hit == null' \
        'evidence.signals_sent.# == 0' 'oom_kills == 0'

begin "signaled, not cpu_timeout: a SIGXCPU the program raises itself under -c 5s"
# A signal alone is no proof of a limit: its CPU time (a millisecond) is far from 5 s.
cr_run -c 5s -t "$backstop" -- "$P/cr-exit" --signal XCPU
expect_exit 152
expect_backend
expect_json 'status == signaled' 'signal == 24' 'evidence.limit_hit == null' 'cpu_time_s < 1'

# ---- limits corral acts on ----

begin "wall_timeout: a sleeper under -t 1s"
cr_run -t 1s -- "$P/cr-exit" --sleep 600
expect_exit 124
expect_backend
expect_json 'status == wall_timeout' 'exit_code == null' 'signal == 15' \
        'enforcement.wall_time == monitor' 'evidence.limit_hit == RuntimeMaxSec' \
        'evidence.deadline_s == 1' 'evidence.signals_sent.0.signal == SIGTERM' \
        'evidence.signals_sent.0.at_s >= 1' 'wall_time_s >= 1' "wall_time_s < $((30 * CR_SLOW))"

begin "cpu_timeout: one busy thread under -c 1s"
cr_run -c 1s -t "$backstop" -- "$P/cr-spin" 600
expect_exit 124
expect_backend
expect_json 'status == cpu_timeout' "enforcement.cpu_time == $cpu_enforcer" \
        'evidence.limit_hit == CPUTimeMaxSec' 'evidence.deadline_s == 1' \
        "cpu_time_s >= $cpu_min" "wall_time_s < $((60 * CR_SLOW))"

begin "cpu_timeout: two busy threads under -c 1s"
cr_run -c 1s -t "$backstop" -- "$P/cr-spin" -j 2 600
expect_exit 124
expect_backend
expect_json 'status == cpu_timeout' "enforcement.cpu_time == $cpu_enforcer" \
        'evidence.limit_hit == CPUTimeMaxSec' "cpu_time_s >= $cpu_min" "wall_time_s < $((60 * CR_SLOW))"

begin "cpu_timeout: a busy child process under -c 1s"
cr_run -c 1s -t "$backstop" -- "$P/cr-spin" --child 600
expect_exit 124
expect_backend
expect_json 'status == cpu_timeout' "enforcement.cpu_time == $cpu_enforcer" \
        'evidence.limit_hit == CPUTimeMaxSec' "wall_time_s < $((60 * CR_SLOW))"
# the whole tree's CPU time counts: exactly on cgroup2 and cgroup2-core
[ "$CR_RUNG" != rlimit ] && expect_json 'cpu_time_s >= 0.9'

# ---- memory ----

# The honest memory verdict per rung: the kernel's OOM kill on cgroup2; on the
# fallback rungs an inferred one (allocation failure or the RSS watch).
expect_memory_limit() {
        expect_exit 137
        expect_backend
        expect_json 'status == memory_limit' 'evidence.limit_hit == MemoryMax' \
                "evidence.memory_max_bytes == $((64 * MIB))"
        if [ "$CR_RUNG" = cgroup2 ]; then
                expect_json 'precise == true' 'enforcement.memory == cgroup' 'oom_kills > 0' \
                        'evidence.oom_kill > 0'
        else
                expect_json 'precise == false' "enforcement.memory == ${1:-rlimit-data}" \
                        'evidence.inferred != null'
        fi
}

begin "memory_limit: 1 GiB touched under -m 64M"
cr_run -m 64M -t "$backstop" -- "$P/cr-alloc" 1024
expect_memory_limit

begin "memory_limit: 200 MiB spread over 4 children (50 MiB each) under -m 64M"
# Each child stays under a per-process rlimit: only a whole-tree view (cgroup, RSS watch) sees it.
cr_run -m 64M -t "$backstop" -- "$P/cr-alloc" --children 4 --hold 600 200
expect_memory_limit

begin "memory_limit: -p MemoryRlimit=as names rlimit-as on the fallback rungs"
cr_run -m 64M -p MemoryRlimit=as -t "$backstop" -- "$P/cr-alloc" 1024
expect_memory_limit rlimit-as

# ---- interrupted ----

begin "interrupted: SIGINT to corral stops the run gracefully"
cr_run_bg -t "$backstop" -- "$P/cr-graceful" --ready "$T_DIR/ready" "$T_DIR/cleaned"
if wait_for_file "$T_DIR/ready"; then
        kill -INT "$CR_BG_PID"
else
        fail "the workload never became ready"
        kill -INT "$CR_BG_PID"
fi
cr_wait_bg
expect_exit 130
expect_backend
expect_json 'status == interrupted' 'evidence.limit_hit == Interrupt' \
        'evidence.signals_sent.0.signal == SIGTERM'
expect_true "the workload's SIGTERM handler did not run (no $T_DIR/cleaned)" test -e "$T_DIR/cleaned"

begin "interrupted: SIGTERM to corral stops the run gracefully"
cr_run_bg -t "$backstop" -- "$P/cr-graceful" --ready "$T_DIR/ready" "$T_DIR/cleaned"
wait_for_file "$T_DIR/ready" || fail "the workload never became ready"
kill -TERM "$CR_BG_PID"
cr_wait_bg
expect_exit 130
expect_backend
expect_json 'status == interrupted' 'evidence.limit_hit == Interrupt' \
        'evidence.signals_sent.0.signal == SIGTERM'
expect_true "the workload's SIGTERM handler did not run (no $T_DIR/cleaned)" test -e "$T_DIR/cleaned"

# ---- spawn errors ----

begin "spawn_error: a command path that does not exist"
cr_run -- /nonexistent/cr-no-such-program
expect_exit 127
expect_json 'status == spawn_error' 'error != null' 'signal == null'

begin "spawn_error: a command name not found in PATH"
cr_run -- cr-no-such-program-in-path
expect_exit 127
expect_json 'status == spawn_error' 'error != null'

begin "spawn_error: a file without execute permission"
printf '#!/bin/sh\nexit 0\n' >"$T_DIR/not-executable"
chmod 0644 "$T_DIR/not-executable"
cr_run -- "$T_DIR/not-executable"
expect_exit 126
expect_json 'status == spawn_error' 'error != null'

begin "spawn_error: a directory as the command"
mkdir -p "$T_DIR/a-directory"
cr_run -- "$T_DIR/a-directory"
expect_exit 126
expect_json 'status == spawn_error' 'error != null'

# The error quotes the name; a name that is not UTF-8 once cost the whole JSON result
# (found by tools/fuzz, fuzz-result).
begin "spawn_error: a command name that is not UTF-8 still gets its JSON result"
cr_run -- "$T_DIR/no-such-$(printf '\377')"
expect_exit 127
expect_json 'status == spawn_error' 'error != null'

finish
