#!/bin/sh
# SPDX-License-Identifier: MIT
#
# "Nothing the run started outlives the run" and "the transient cgroup is removed
# after every run". cr-tree leaves a child, a double-forked daemon in its own
# session and a worker in its own process group, all ignoring SIGTERM, and writes
# their pids; after corral returns none may run. cgroup2 and cgroup2-core kill
# with cgroup.kill; rlimit must catch the re-parented ones as a subreaper.

. "$(dirname "$0")/lib.sh"

plan 8

deadline="$((2 * CR_SLOW))s"
[ "$CR_RUNG" != rlimit ] && cg_snapshot

# expect_no_survivors: every pid cr-tree recorded is gone.
expect_no_survivors() {
        if [ ! -s "$T_DIR/pids" ]; then
                fail "cr-tree never wrote its pids"
                return
        fi
        _n=$(wc -l <"$T_DIR/pids" | tr -d ' ')
        [ "$_n" = 4 ] || fail "cr-tree recorded $_n processes, expected 4"
        _alive=$(pids_alive "$T_DIR/pids")
        if [ -n "$_alive" ]; then
                fail "still running after corral returned: $(echo "$_alive" | tr "\n" " ")"
                kill_pids "$T_DIR/pids"
        fi
}

begin "a SIGTERM-ignoring double-forked setsid tree is dead after a wall timeout"
cr_run -t "$deadline" -- "$P/cr-tree" "$T_DIR/pids"
expect_exit 124
expect_backend
expect_json 'status == wall_timeout' 'evidence.signals_sent.0.signal == SIGTERM' \
        'evidence.signals_sent.1.signal == SIGKILL'
expect_no_survivors

begin "the tree is dead when its top process exits 0 and leaves it behind"
cr_run -t "$((60 * CR_SLOW))s" -- "$P/cr-tree" --exit "$T_DIR/pids"
expect_exit 0
expect_backend
expect_json 'status == ok' 'exit_code == 0'
expect_no_survivors

begin "the tree is dead after corral is interrupted"
cr_run_bg -t "$((120 * CR_SLOW))s" -- "$P/cr-tree" "$T_DIR/pids"
wait_for_file "$T_DIR/pids" || fail "cr-tree never became ready"
kill -INT "$CR_BG_PID"
cr_wait_bg
expect_exit 130
expect_json 'status == interrupted'
expect_no_survivors

begin "a busy child and its waiting parent are dead after a CPU timeout"
cr_run -c 1s -t "$((120 * CR_SLOW))s" -- "$P/cr-spin" --child --pidfile "$T_DIR/pids" 600
expect_exit 124
expect_json 'status == cpu_timeout'
_alive=$(pids_alive "$T_DIR/pids")
[ -z "$_alive" ] || fail "still running after corral returned: $(echo "$_alive" | tr "\n" " ")"
kill_pids "$T_DIR/pids"

begin "the run's own group exists during the run and is gone afterwards"
cr_run -- "$P/cr-cgpath"
expect_exit 0
expect_json 'status == ok'
group=$(cgpath_dir)
[ -n "$(cgpath_value cgroup)" ] || fail "cr-cgpath printed no cgroup"
case $CR_RUNG in
rlimit)
        # no group on this rung: the program stays in the cgroup corral was started in
        own=$(sed -n 's/^0:://p' /proc/self/cgroup)
        [ "$(cgpath_value cgroup)" = "$own" ] ||
                fail "the rlimit rung moved the program to '$(cgpath_value cgroup)' (corral runs in '$own')"
        ;;
*)
        case $(cgpath_value cgroup) in
        */run-*) ;;
        *) fail "the program did not run in a run-* group: '$(cgpath_value cgroup)'" ;;
        esac
        [ -n "$group" ] && [ -d "$group" ] && fail "the run's group $group is still there"
        ;;
esac

begin "failed, killed and interrupted runs leave no group either"
cr_run -- /nonexistent/cr-no-such-program
expect_exit 127
cr_run -m 64M -t "$((60 * CR_SLOW))s" -- "$P/cr-alloc" 1024
expect_exit 137
cr_run -t 1s -- "$P/cr-exit" --sleep 600
expect_exit 124
cr_run -c 1s -t "$((60 * CR_SLOW))s" -- "$P/cr-spin" 600
expect_exit 124
cr_run_bg -- "$P/cr-graceful" --ready "$T_DIR/ready" "$T_DIR/cleaned"
wait_for_file "$T_DIR/ready" || fail "cr-graceful never became ready"
kill -INT "$CR_BG_PID"
cr_wait_bg
expect_exit 130
if [ "$CR_RUNG" = rlimit ]; then
        diag "(no groups on the rlimit rung: only the runs' exit codes are checked here)"
fi

if [ "$CR_RUNG" = rlimit ]; then
        skip "a run group removed under corral ends the run" "the rlimit rung creates no cgroups"
else
        begin "a run group killed and removed under corral (an admin's cgroup.kill + rmdir) ends the run: corral returns, it does not spin"
        # corral is stopped while it happens, so that it finds the group gone, not empty
        # (before the fix it read cgroup.events' ENODEV for ever at 100% CPU)
        cr_run_bg -t "$((60 * CR_SLOW))s" -- "$P/cr-exit" --sleep 600
        g=$CR_CG_BASE/run-$CR_BG_PID.0
        if ! wait_procs "$g"; then
                fail "the run never appeared in $g"
                kill -9 "$CR_BG_PID" 2>/dev/null
        else
                kill -STOP "$CR_BG_PID"
                echo 1 >"$g/cgroup.kill"
                wait_procs "$g" empty || fail "$g still has processes after cgroup.kill"
                rmdir "$g" || fail "could not remove $g"
                kill -CONT "$CR_BG_PID"
                cr_wait_bg $((10 * CR_SLOW))
                expect_exit 137
                expect_json 'status == signaled' 'signal == 9'
        fi
fi

if [ "$CR_RUNG" = rlimit ]; then
        skip "no run-* group is left under the cgroup base" "the rlimit rung creates no cgroups"
else
        begin "no run-* group is left under $CR_CG_BASE after this suite's runs"
        left=$(cg_leftovers)
        [ -z "$left" ] || fail "left behind: $(echo "$left" | tr "\n" " ")"
fi

finish
