#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Accounting checked against known workloads (CPU time, memory peak, task peak)
# and the enforcement object per rung: what enforced each limit the policy set.

. "$(dirname "$0")/lib.sh"

plan 13

MIB=1048576

begin "cpu_time_s of a 1 s CPU spin is >= 0.5 and <= wall_time_s"
cr_run -- "$P/cr-spin" 1
expect_exit 0
expect_json 'status == ok' 'cpu_time_s >= 0.5' 'cpu_time_s <= @wall_time_s' 'user_time_s >= 0.3' \
        'system_time_s >= 0' 'system_time_s <= @cpu_time_s'

begin "two threads spinning 0.5 s of CPU each count twice"
cr_run -- "$P/cr-spin" -j 2 0.5
expect_exit 0
expect_json 'status == ok' 'cpu_time_s >= 0.8'

begin "CPU burned by a child process counts"
cr_run -- "$P/cr-spin" --child 0.5
expect_exit 0
expect_json 'status == ok' 'cpu_time_s >= 0.4'

# SPEC: cpu_time_s = user_time_s + system_time_s, also for a tree that was killed and
# reaped member by member (the rlimit rung's escaped members are re-parented to corral).
expect_cpu_split() {
        _c=$(json_get cpu_time_s) _u=$(json_get user_time_s) _s=$(json_get system_time_s)
        expect_true "cpu_time_s $_c is not user_time_s $_u + system_time_s $_s" \
                awk -v c="$_c" -v u="$_u" -v s="$_s" 'BEGIN { d = c - u - s; exit !(d < 0.000002 && d > -0.000002) }'
        expect_true "cpu_time_s $_c: the tree's CPU is not counted" float_le "$1" "$_c"
}

# The trees are killed at a CPU deadline, not a wall one: the CPU a busy member gets in a
# fixed wall time depends on the machine's load (under tools/run-under-load, load average
# 12-20 on 2 CPUs, a busy child got 0.018 s in 2 s), while -c 300ms kills the tree once it
# has used 0.3 s, whatever the load. The process corral started only waits, so the floor
# shows that the members' CPU is counted.
begin "cpu_time_s == user + system for a killed tree: a busy child under -c 300ms"
cr_run -c 300ms -t "$((60 * CR_SLOW))s" -- "$P/cr-spin" --child 600
expect_json 'status == cpu_timeout'
expect_cpu_split 0.25

begin "cpu_time_s == user + system for a killed tree: four busy subshells under -c 300ms"
cr_run -c 300ms -t "$((60 * CR_SLOW))s" -- /bin/sh -c 'for i in 1 2 3 4; do (while :; do :; done) & done; wait'
expect_json 'status == cpu_timeout'
expect_cpu_split 0.25

begin "memory_peak_bytes of touching 100 MiB under -m 512M is >= 100 MiB (and <= the limit on cgroup2)"
cr_run -m 512M -- "$P/cr-alloc" 100
expect_exit 0
expect_json 'status == ok' "memory_peak_bytes >= $((100 * MIB))" "evidence.memory_max_bytes == $((512 * MIB))"
[ "$CR_RUNG" = cgroup2 ] && expect_json "memory_peak_bytes <= $((512 * MIB))" 'oom_kills == 0'

begin "memory_peak_bytes of 100 MiB over two children"
cr_run -- "$P/cr-alloc" --children 2 --hold 0.5 100
expect_exit 0
expect_json 'status == ok'
if [ "$CR_RUNG" = cgroup2 ]; then
        # the group's peak covers the whole tree
        expect_json "memory_peak_bytes >= $((100 * MIB))"
else
        # rusage and sampling see at least the larger child
        expect_json "memory_peak_bytes >= $((50 * MIB))"
fi

begin "pids_peak of a program with 10 sleeping children"
cr_run -- "$P/cr-forks" --hold 0.5 10
expect_exit 0
expect_json 'status == ok' 'pids_limit_hits == 0'
expect_stdout_contains "10 of 10 forks succeeded"
if [ "$CR_RUNG" = cgroup2 ]; then
        expect_json 'pids_peak >= 11'
else
        expect_json 'pids_peak >= 1'
fi

begin "a JIT-style 8 GiB PROT_NONE reservation runs under -m 256M"
cr_run -m 256M -- "$P/cr-jit"
expect_exit 0
expect_backend
expect_json 'status == ok'
if [ "$CR_RUNG" = cgroup2 ]; then
        expect_json 'enforcement.memory == cgroup'
else
        expect_json 'enforcement.memory == rlimit-data'
fi

if [ "$CR_RUNG" = cgroup2 ]; then
        skip "-p MemoryRlimit=as shows the RLIMIT_AS trap" "memory is a cgroup limit on cgroup2, no rlimit"
else
        begin "-p MemoryRlimit=as shows the RLIMIT_AS trap the default avoids"
        cr_run -m 256M -p MemoryRlimit=as -- "$P/cr-jit"
        expect_json 'enforcement.memory == rlimit-as' 'status == exited|memory_limit'
        [ "$CR_EXIT" = 0 ] && fail "the 8 GiB reservation succeeded under RLIMIT_AS 256M"
fi

begin "enforcement names what enforced every limit the policy set"
cr_run -m 256M -n 64 -c 30s -t 60s --cpus 1 -- "$P/cr-exit" 0
expect_exit 0
expect_backend
expect_json 'status == ok' 'enforcement.wall_time == monitor' "evidence.memory_max_bytes == $((256 * MIB))"
case $CR_RUNG in
cgroup2)
        expect_json 'enforcement.memory == cgroup' 'enforcement.tasks == cgroup' \
                'enforcement.cpu_quota == cgroup' 'enforcement.cpu_time == monitor'
        ;;
cgroup2-core)
        # the kernel ignores RLIMIT_NPROC for root: "none" is the honest answer then
        expect_json 'enforcement.memory == rlimit-data' 'enforcement.tasks == rlimit-nproc|none' \
                'enforcement.cpu_quota == none' 'enforcement.cpu_time == monitor'
        ;;
*)
        expect_json 'enforcement.memory == rlimit-data' 'enforcement.tasks == rlimit-nproc|none' \
                'enforcement.cpu_quota == none' 'enforcement.cpu_time == rlimit-cpu'
        ;;
esac

begin "a refused fork (-n 16, 100 forks) never changes the status by itself"
cr_run -n 16 -- "$P/cr-forks" 100
expect_exit 0
expect_json 'status == ok' 'exit_code == 0'
if [ "$CR_RUNG" = cgroup2 ]; then
        expect_json 'enforcement.tasks == cgroup' 'evidence.pids_max > 0' 'pids_limit_hits > 0' \
                'pids_peak <= 16'
        grep -q "100 of 100" "$T_DIR/stdout" && fail "all 100 forks succeeded under pids.max 16"
else
        expect_json 'enforcement.tasks == rlimit-nproc|none'
        if [ "$(id -u)" = 0 ]; then
                expect_json 'enforcement.tasks == none'
        fi
fi

begin "--cpus 0.5 throttles on cgroup2 and is reported unenforced elsewhere"
cr_run --cpus 0.5 -- "$P/cr-spin" --wall 2
expect_exit 0
expect_json 'status == ok'
if [ "$CR_RUNG" = cgroup2 ]; then
        expect_json 'enforcement.cpu_quota == cgroup' 'evidence.cpu_throttled_s > 0' 'cpu_time_s <= 1.5'
else
        expect_json 'enforcement.cpu_quota == none'
fi

finish
