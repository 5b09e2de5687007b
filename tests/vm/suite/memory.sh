#!/bin/sh
# SPDX-License-Identifier: MIT
#
# memory_limit on cgroup2: the kernel's OOM kill, counted in memory.events,
# reported precise, wherever the memory sits: one process, spread over child
# processes (each small), or in a tmpfs file no process maps. The peak never
# passes memory.max.

. "$(dirname "$0")/../../integration/lib.sh"

require_rung cgroup2
plan 5

MIB=1048576
limit=$((64 * MIB))
backstop="$((60 * CR_SLOW))s"

expect_oom_kill() {
        expect_exit 137
        expect_json 'status == memory_limit' 'backend == cgroup2' 'precise == true' \
                'enforcement.memory == cgroup' 'evidence.limit_hit == MemoryMax' \
                'oom_kills > 0' 'evidence.oom_kill > 0' 'evidence.oom > 0' \
                "evidence.memory_max_bytes == $limit" "memory_peak_bytes <= $limit" \
                "memory_peak_bytes >= $((limit / 2))"
}

begin "one process touching 1 GiB under -m 64M is OOM-killed"
cr_run -m 64M -t "$backstop" -- "$P/cr-alloc" 1024
expect_oom_kill

begin "256 MiB spread over 4 children under -m 64M: the group is OOM-killed together"
cr_run -m 64M -t "$backstop" -- "$P/cr-alloc" --children 4 --hold 600 256
expect_oom_kill
# memory.oom.group=1: the kernel killed the whole group, not one child
expect_json 'evidence.oom_group_kill > 0'

begin "256 MiB written into a tmpfs file under -m 64M is a memory_limit too"
mkdir -p "$T_DIR/shm"
if mount -t tmpfs -o size=512m tmpfs "$T_DIR/shm"; then
        cr_run -m 64M -t "$backstop" -- "$P/cr-alloc" --tmpfs "$T_DIR/shm" --hold 600 256
        expect_oom_kill
        umount "$T_DIR/shm" || fail "cannot unmount $T_DIR/shm"
else
        fail "cannot mount a tmpfs on $T_DIR/shm"
fi

begin "touching 100 MiB under -m 128M: 100 MiB <= peak <= 128 MiB, no OOM"
cr_run -m 128M -- "$P/cr-alloc" 100
expect_exit 0
expect_json 'status == ok' 'oom_kills == 0' 'evidence.oom_kill == 0' \
        "memory_peak_bytes >= $((100 * MIB))" "memory_peak_bytes <= $((128 * MIB))"

begin "a JIT-style 8 GiB reservation with 10 MiB touched runs under -m 256M"
cr_run -m 256M -- "$P/cr-jit"
expect_exit 0
expect_json 'status == ok' 'enforcement.memory == cgroup' 'oom_kills == 0'

finish
