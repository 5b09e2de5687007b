#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Policy files through the CLI: every shipped policy passes `corral policy check`
# (exit 0, and it prints what would enforce each limit here); a bad line fails the
# check with FILE:LINE: Key: reason (exit 1); `corral run --policy NAME|PATH` applies a
# file, options after it override it, and a missing policy is bad input (exit 125).

. "$(dirname "$0")/lib.sh"

plan 8

POL=${CR_POLICIES:-$CR_ROOT/policies}
CORRAL_POLICY_PATH=$POL
export CORRAL_POLICY_PATH

# expect_stdout_match REGEX: a line of stdout matches the basic regular expression.
expect_stdout_match() {
        grep -q -- "$1" "$T_DIR/stdout" || fail "no line of stdout matches '$1'"
}

for name in default untrusted function compiler; do
        begin "policy check: the shipped '$name' passes and says what enforces its limits"
        cr_exec policy check "$name"
        expect_exit 0
        expect_stdout_match "^MemoryMax=[0-9]*[KMG] *# [a-z]"
        expect_stdout_match "^RuntimeMaxSec=[0-9]*[a-z]* *# monitor"
        end
done

begin "policy check: a bad line fails with FILE:LINE: Key: reason"
printf '# mine\nMemoryMax=64M\nTasksMax=lots\n' >"$T_DIR/bad"
cr_exec policy check "$T_DIR/bad"
expect_exit 1
expect_stderr_line "corral: $T_DIR/bad:3: TasksMax: value 'lots': invalid number 'lots'"
end

begin "run --policy PATH applies the file (RuntimeMaxSec=300ms stops a sleeper)"
printf 'RuntimeMaxSec=300ms\nTimeoutStopSec=50ms\n' >"$T_DIR/short"
cr_run --policy "$T_DIR/short" -- "$P/cr-exit" --sleep 30
expect_exit 124
expect_json 'status == wall_timeout' 'evidence.limit_hit == RuntimeMaxSec'
end

begin "run --policy NAME, then -t: the option after it overrides the file"
cr_run --policy untrusted -t 200ms -- "$P/cr-exit" --sleep 30
expect_exit 124
expect_json 'status == wall_timeout' 'evidence.deadline_s == 0.2' 'evidence.memory_max_bytes == 268435456'
end

begin "run --policy with a missing name is bad input: 125, one line naming it"
cr_run --policy no-such-policy -- "$P/cr-exit" 0
expect_exit 125
expect_stderr_contains "policy 'no-such-policy' not found"
end

finish
