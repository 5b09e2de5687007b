#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Bad input gets a clear one-line error naming it and exit 125, never a crash or
# a run; good input in every accepted form is taken. Also --result-file.

. "$(dirname "$0")/lib.sh"

plan 13

MIB=1048576

# expect_rejected WORD: exit 125 and one stderr line that names WORD.
expect_rejected() {
        expect_exit 125
        expect_stderr_line "$1"
}

begin "-m 12Q is rejected with one line naming 12Q"
cr_run -m 12Q -- "$P/cr-exit" 0
expect_rejected 12Q

begin "an unknown property is rejected, naming it"
cr_run -p NoSuchProperty=1 -- "$P/cr-exit" 0
expect_rejected NoSuchProperty

begin "a malformed duration is rejected, naming it"
cr_run -t 5parsecs -- "$P/cr-exit" 0
expect_rejected 5parsecs

begin "a negative CPU time is rejected"
cr_run -c -1s -- "$P/cr-exit" 0
expect_rejected -1s

begin "a task count that is not a number is rejected"
cr_run -n lots -- "$P/cr-exit" 0
expect_rejected lots

begin "a property without '=' is rejected"
cr_run -p MemoryMax -- "$P/cr-exit" 0
expect_rejected MemoryMax

begin "an unknown backend is rejected"
cr_exec run --json --backend bogus -- "$P/cr-exit" 0
expect_rejected bogus

begin "an unknown option is rejected"
cr_run --frobnicate -- "$P/cr-exit" 0
expect_exit 125
expect_stderr_contains frobnicate

begin "a run without a command is rejected"
cr_run --
expect_exit 125
[ -s "$T_DIR/stderr" ] || fail "no error message on stderr"

if [ "$CR_IN_VM" = 1 ]; then
        begin "--backend cgroup2 is honoured where cgroup v2 controllers are delegated"
        cr_exec run --json --backend cgroup2 -- "$P/cr-exit" 0
        expect_exit 0
        expect_json 'status == ok' 'backend == cgroup2'
else
        begin "--backend cgroup2 on this hybrid host fails with a clear message"
        cr_exec run --json --backend cgroup2 -- "$P/cr-exit" 0
        expect_rejected cgroup2
fi

begin "properties in systemd's forms are taken (1.5G, '1min 30s', 50%, bare seconds)"
cr_run -p MemoryMax=1.5G -p 'RuntimeMaxSec=1min 30s' -p CPUQuota=50% -p CPUTimeMaxSec=90 \
        -p TasksMax=64 -p TimeoutStopSec=1s -- "$P/cr-exit" 0
expect_exit 0
expect_json 'status == ok' "evidence.memory_max_bytes == $((1536 * MIB))" \
        'enforcement.wall_time == monitor' 'enforcement.cpu_quota != <absent>' \
        'enforcement.cpu_time != <absent>' 'enforcement.tasks != <absent>'

begin "--result-file writes the JSON there, not to stdout"
if [ -n "$CR_BACKEND" ]; then
        cr_exec run --result-file "$T_DIR/result.json" --backend "$CR_BACKEND" -- "$P/cr-exit" 3
else
        cr_exec run --result-file "$T_DIR/result.json" -- "$P/cr-exit" 3
fi
expect_exit 3
if [ -s "$T_DIR/result.json" ]; then
        "$CR_JSONCHK" "$T_DIR/result.json" 'status == exited' 'exit_code == 3' >"$T_DIR/check" 2>&1 ||
                fail "$(cat "$T_DIR/check")"
else
        fail "no JSON in $T_DIR/result.json"
fi
[ -s "$T_DIR/stdout" ] && fail "stdout is not empty: $(head -c 200 "$T_DIR/stdout")"

begin "the JSON is the last line of stdout after the program's own output"
cr_run -- "$P/cr-cgpath"
expect_exit 0
expect_json 'status == ok'
expect_stdout_contains "cgroup="

finish
