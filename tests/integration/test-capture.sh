# SPDX-License-Identifier: MIT
# shellcheck shell=sh
#
# corral run --capture: the command's stdout and stderr land in the JSON result as
# "stdout"/"stderr" with "stdout_truncated"/"stderr_truncated", cut at CaptureMax;
# "" when the command was silent; absent (and the output passes through) without
# --capture; the JSON stays valid for bytes that are not UTF-8.

. "$(dirname "$0")/lib.sh"

plan 5

begin "--capture puts stdout and stderr in the JSON, not on corral's own streams"
cr_run --capture -- sh -c 'echo out line; echo err line >&2'
expect_exit 0
expect_json 'status == ok' 'stdout_truncated == false' 'stderr_truncated == false'
[ "$(json_get stdout)" = "out line" ] || fail "stdout is '$(json_get stdout)'"
[ "$(json_get stderr)" = "err line" ] || fail "stderr is '$(json_get stderr)'"
[ "$(wc -l <"$T_DIR/stdout" | tr -d ' ')" = 1 ] || fail "corral's stdout has more than the JSON line"
grep -q 'err line' "$T_DIR/stderr" && fail "the captured stderr also reached corral's stderr"
end

begin "CaptureMax cuts each stream and says so"
cr_run --capture -p CaptureMax=3 -- sh -c 'echo hello; echo world >&2'
expect_exit 0
expect_json 'stdout == hel' 'stderr == wor' 'stdout_truncated == true' 'stderr_truncated == true'
end

begin "a silent command's streams are \"\", not absent"
cr_run --capture -- true
expect_exit 0
expect_json 'stdout == ""' 'stderr == ""' 'stdout_truncated == false'
end

begin "without --capture nothing is captured and the output passes through"
cr_run -- sh -c 'echo passes through'
expect_exit 0
expect_json 'stdout == <absent>' 'stderr == <absent>'
expect_stdout_contains 'passes through'
end

begin "bytes that are not UTF-8 keep the JSON valid; a capture survives a timeout"
cr_run --capture -t 300ms -- sh -c 'printf "a\377b\n"; echo late >&2; sleep 10'
expect_exit 124
expect_json 'status == wall_timeout' 'stdout ~ a' 'stdout ~ b'
[ "$(json_get stderr)" = "late" ] || fail "stderr is '$(json_get stderr)'"
end

finish
