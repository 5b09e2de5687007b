#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The stop sequence (TimeoutStopSec): SIGTERM, the grace period, SIGKILL. A
# program that cleans up within the grace gets to finish its cleanup and is still
# reported wall_timeout; one that takes longer is killed when the grace ends.

. "$(dirname "$0")/lib.sh"

plan 5

grace=$((20 * CR_SLOW)) # long, so "did not wait for the whole grace" is unambiguous

begin "a SIGTERM handler that finishes within the grace did its cleanup; status wall_timeout"
cr_run -t 1s --grace "${grace}s" -- "$P/cr-graceful" --ready "$T_DIR/ready" "$T_DIR/cleaned"
expect_exit 124
expect_backend
expect_json 'status == wall_timeout' 'evidence.limit_hit == RuntimeMaxSec' \
        'evidence.signals_sent.0.signal == SIGTERM' 'evidence.signals_sent.0.at_s >= 1' \
        'exit_code == 0' 'signal == null' "wall_time_s < $grace"
expect_true "the handler did not write $T_DIR/cleaned" grep -q "cleaned up" "$T_DIR/cleaned"

begin "a cleanup longer than the grace (0.5s) is cut short by SIGKILL"
cr_run -t 1s --grace 500ms -- "$P/cr-graceful" --cleanup 600 "$T_DIR/cleaned"
expect_exit 124
expect_backend
expect_json 'status == wall_timeout' 'signal == 9' 'exit_code == null' \
        'evidence.signals_sent.0.signal == SIGTERM' 'evidence.signals_sent.1.signal == SIGKILL' \
        'evidence.signals_sent.1.at_s >= 1.5' "wall_time_s < $((30 * CR_SLOW))"
expect_true "the cleanup finished although it was killed ($T_DIR/cleaned exists)" test ! -e "$T_DIR/cleaned"

begin "the default grace is 200ms"
cr_run -t 1s -- "$P/cr-graceful" --cleanup 600 "$T_DIR/cleaned"
expect_exit 124
expect_json 'status == wall_timeout' 'signal == 9' \
        'evidence.signals_sent.0.signal == SIGTERM' 'evidence.signals_sent.1.signal == SIGKILL' \
        'evidence.signals_sent.1.at_s >= 1.15' "evidence.signals_sent.1.at_s < $((10 * CR_SLOW))"
expect_true "the cleanup finished although it was killed" test ! -e "$T_DIR/cleaned"

begin "--grace 0 sends SIGKILL at once, no SIGTERM"
cr_run -t 1s --grace 0 -- "$P/cr-graceful" "$T_DIR/cleaned"
expect_exit 124
expect_json 'status == wall_timeout' 'signal == 9' 'evidence.signals_sent.0.signal == SIGKILL' \
        'evidence.signals_sent.# == 1'
expect_true "the SIGTERM handler ran although there was no grace" test ! -e "$T_DIR/cleaned"

begin "running out of memory inside the grace period stays wall_timeout (first limit acted on wins)"
# The cleanup needs 256 MiB under -m 64M: the cgroup OOM-kills it, RLIMIT_DATA refuses it.
cr_run -m 64M -t 1s --grace "${grace}s" -- "$P/cr-graceful" --cleanup-alloc 256 "$T_DIR/cleaned"
expect_exit 124
expect_backend
expect_json 'status == wall_timeout' 'evidence.limit_hit == RuntimeMaxSec' \
        'evidence.signals_sent.0.signal == SIGTERM' "wall_time_s < $grace"
[ "$CR_RUNG" = cgroup2 ] && expect_json 'evidence.oom_kill > 0' 'signal == 9'
expect_true "the cleanup finished although it needed 256 MiB under a 64 MiB limit" \
        test ! -e "$T_DIR/cleaned"

finish
