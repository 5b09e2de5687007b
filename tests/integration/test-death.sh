#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Nothing survives corral's own death: `kill -9` of `corral run` while its run is a
# double-forked, setsid'ed, SIGTERM-ignoring tree (tests/programs/cr-tree).
#  - PrivatePIDs=yes (root): the run's first process is corral's init, pid 1 of the
#    run's pid namespace, with PR_SET_PDEATHSIG; corral's death kills it, and the kernel
#    kills the whole namespace: nothing of the tree is alive 1 s later.
#  - Without a pid namespace only the first process dies with corral (PR_SET_PDEATHSIG);
#    what left it (the double fork) is not reached — README "Dying with corral" says so,
#    and this suite checks the part that holds and counts the rest in a diagnostic.
#  - On the cgroup rungs what is left stays in the run's group, and the next corral
#    (its sweep of the base, once per process) kills it (cgroup.kill) and removes the
#    group; a live corral's group is never touched, also one in another pid namespace
#    whose pid means nothing here (its corral holds an flock on the group's directory).
# Also: a program under PrivatePIDs=yes is pid 2, its init forwards SIGTERM (the grace
# period works), and an exit status and a death by signal come through the init as
# they are.

. "$(dirname "$0")/lib.sh"

plan 8

if [ "$(id -u)" != 0 ]; then
        for i in 1 2 3 4 5 6 7 8; do skip "death point $i" "needs root (pid namespace)"; done
        finish
fi

# tree_pids PIDFILE: host pids of the cr-tree processes of this test point (by cmdline:
# inside a pid namespace the pid file holds the namespace's own numbers).
tree_pids() {
        for _d in /proc/[0-9]*; do
                _c=$(tr '\0' ' ' <"$_d/cmdline" 2>/dev/null) || continue
                case $_c in *cr-tree*"$1"*) _st=$(proc_state "${_d#/proc/}")
                        [ "$_st" = Z ] || [ -z "$_st" ] || echo "${_d#/proc/}" ;;
                esac
        done
}

begin "PrivatePIDs=yes: kill -9 of corral run leaves nothing of the tree alive 1 s later"
cr_run_bg -p PrivatePIDs=yes -- "$P/cr-tree" "$T_DIR/pids"
if wait_for_file "$T_DIR/pids"; then
        before=$(tree_pids "$T_DIR/pids" | wc -l)
        [ "$before" -ge 4 ] || fail "only $before tree processes were running"
        kill -9 "$CR_BG_PID"
        wait "$CR_BG_PID" 2>/dev/null
        sleep 1
        left=$(tree_pids "$T_DIR/pids")
        [ -z "$left" ] || fail "alive 1 s after corral's death: $left"
        for p in $left; do kill -9 "$p" 2>/dev/null; done
else
        fail "cr-tree never wrote its pid file"
        kill -9 "$CR_BG_PID" 2>/dev/null
fi
end

begin "no pid namespace: kill -9 of corral run kills the run's first process (PR_SET_PDEATHSIG)"
cr_run_bg -- "$P/cr-tree" "$T_DIR/pids"
if wait_for_file "$T_DIR/pids"; then
        top=$(awk '$2 == "top" { print $1 }' "$T_DIR/pids")
        kill -9 "$CR_BG_PID"
        wait "$CR_BG_PID" 2>/dev/null
        sleep 1
        st=$(proc_state "$top")
        [ -z "$st" ] || [ "$st" = Z ] || fail "the first process ($top) is alive 1 s after corral's death"
        left=$(pids_alive "$T_DIR/pids")
        [ -z "$left" ] || diag "left behind without a pid namespace (documented): $(echo $left)"
        kill_pids "$T_DIR/pids"
else
        fail "cr-tree never wrote its pid file"
        kill -9 "$CR_BG_PID" 2>/dev/null
fi
end

begin "PrivatePIDs=yes: the program is pid 2 under corral's init, with a /proc of its own"
cr_run --capture -p PrivatePIDs=yes -- sh -c 'echo $$; ls /proc | grep -c "^[0-9]"'
expect_exit 0
expect_json 'status == ok' 'enforcement.private_pids == pid-ns' \
        'enforcement.die_with_corral == pdeathsig+pid-ns'
# $$ of the shell, then /proc's processes: init, sh, ls and (if forked by then) grep
out=$(json_get stdout)
first=$(echo "$out" | sed -n 1p)
count=$(echo "$out" | sed -n 2p)
[ "$first" = 2 ] || fail "the shell is pid '$first', expected 2"
[ "$count" -ge 3 ] && [ "$count" -le 4 ] || fail "its /proc shows $count processes, expected 3 or 4"
end

begin "PrivatePIDs=yes: an exit status comes through the init"
cr_run -p PrivatePIDs=yes -- "$P/cr-exit" 7
expect_exit 7
expect_json 'status == exited' 'exit_code == 7'
end

begin "PrivatePIDs=yes: a death by signal comes through the init as that signal"
cr_run -p PrivatePIDs=yes -- sh -c 'kill -SEGV $$'
expect_exit 139
expect_json 'status == signaled' 'signal == 11'
end

begin "PrivatePIDs=yes: SIGTERM at the wall deadline reaches the program (it cleans up and exits)"
# the program needs time to install its handler first: more of it under TCG (CR_SLOW)
cr_run -p PrivatePIDs=yes -t "$((300 * CR_SLOW))ms" --grace 5s -- "$P/cr-graceful" "$T_DIR/cleaned"
expect_exit 124
expect_json 'status == wall_timeout' 'evidence.signals_sent.# == 1'
[ -e "$T_DIR/cleaned" ] || fail "the program did not get SIGTERM (no $T_DIR/cleaned)"
end

case $CR_RUNG in
cgroup2 | cgroup2-core)
        # A base of these points' own: corral started in DB/supervisor takes DB as its
        # base (rule 1 of placement; on the controller-less rung, the own cgroup's
        # parent). On a shared host any other corral's first run would sweep the default
        # base, and these points must see who swept.
        DB=$CR_CG_BASE/death-sweep.$$
        mkdir -p "$DB/supervisor" || { echo "Bail out! cannot make $DB"; exit 1; }
        cat >"$CR_WORK/in-cgroup" <<'EOS'
#!/bin/sh
echo $$ >"$1/cgroup.procs" || exit 99
shift
exec "$@"
EOS
        chmod 755 "$CR_WORK/in-cgroup"
        # kill_supervised: every process started in DB/supervisor (the namespaced corral
        # of point 8 and its pid namespace's sh included: killing unshare leaves them)
        kill_supervised() {
                for _p in $(cat "$DB/supervisor/cgroup.procs" 2>/dev/null); do kill -9 "$_p" 2>/dev/null; done
                _i=0
                while [ -n "$(cat "$DB/supervisor/cgroup.procs" 2>/dev/null)" ] && [ $_i -lt 50 ]; do
                        sleep 0.1
                        _i=$((_i + 1))
                done
        }
        cleanup_db() {
                kill_supervised
                for _g in "$DB"/run-*; do
                        [ -d "$_g" ] && echo 1 >"$_g/cgroup.kill" 2>/dev/null && sleep 0.2 && rmdir "$_g" 2>/dev/null
                done
                rmdir "$DB/supervisor" "$DB" 2>/dev/null
        }
        trap cleanup_db EXIT
        CR_WRAP="$CR_WORK/in-cgroup $DB/supervisor"
        begin "no pid namespace: the next corral kills what a dead corral's run left in its group and removes it"
        cr_run_bg -- "$P/cr-tree" "$T_DIR/pids"
        if wait_for_file "$T_DIR/pids"; then
                dead=$CR_BG_PID
                kill -9 "$CR_BG_PID"
                wait "$CR_BG_PID" 2>/dev/null
                sleep 0.5
                groups=$(ls -d "$DB"/run-"$dead".* 2>/dev/null)
                left=$(pids_alive "$T_DIR/pids")
                [ -n "$groups" ] || fail "the dead corral's group run-$dead.* is not there"
                [ -n "$left" ] || fail "nothing of the tree survived corral's death: no case to sweep"
                # the next corral, any run: its sweep of the base
                cr_run -- true
                expect_exit 0
                sleep 0.2
                left=$(pids_alive "$T_DIR/pids")
                [ -z "$left" ] || fail "alive after the next corral run: $(echo $left)"
                for g in $groups; do [ -d "$g" ] && fail "$g is still there"; done
                kill_pids "$T_DIR/pids"
        else
                fail "cr-tree never wrote its pid file"
                kill -9 "$CR_BG_PID" 2>/dev/null
        fi
        end

        if command -v unshare >/dev/null 2>&1 && unshare -pf --mount-proc true 2>/dev/null; then
                begin "a live corral in another pid namespace (its pid means nothing here): the next corral's sweep leaves its run alone"
                # corral gets pid NSPID in its namespace (near pid_max, rarely used): its
                # group is run-NSPID.0, a pid that (checked) is no process here
                nspid=$(($(cat /proc/sys/kernel/pid_max) - 100))
                "$P/cr-sigdfl" "$CR_WORK/in-cgroup" "$DB/supervisor" unshare -pf --mount-proc sh -c \
                        'echo "$3" >/proc/sys/kernel/ns_last_pid && "$0" run --json ${1:+--backend "$1"} -- "$2" --sleep 30 0; :' \
                        "$CORRAL" "$CR_BACKEND" "$P/cr-exit" $((nspid - 1)) </dev/null >"$T_DIR/stdout" 2>"$T_DIR/stderr" &
                bg=$!
                g=$DB/run-$nspid.0
                if ! wait_procs "$g"; then
                        fail "the namespaced corral's run never appeared in $g: $(cat "$T_DIR/stderr")"
                elif kill -0 "$nspid" 2>/dev/null; then
                        fail "pid $nspid exists here: cannot make the case (run again)"
                else
                        victim=$(head -n 1 "$g/cgroup.procs")
                        cr_run -- true
                        expect_exit 0
                        [ -d "$g" ] || fail "the live corral's group $g was removed"
                        kill -0 "$victim" 2>/dev/null || fail "the live corral's run ($victim) was killed"
                fi
                # corral first (it must never see its group removed under it), then its run
                kill_supervised
                wait "$bg" 2>/dev/null
                [ -e "$g/cgroup.kill" ] && echo 1 >"$g/cgroup.kill"
                sleep 0.2
                rmdir "$g" 2>/dev/null
                end
        else
                skip "a live corral in another pid namespace is not swept" "no unshare -p here"
        fi
        CR_WRAP=
        ;;
*)
        skip "the next corral kills a dead corral's leftovers" "the rlimit rung has no run group (README: Dying with corral)"
        skip "a live corral in another pid namespace is not swept" "the rlimit rung has no run group"
        ;;
esac

finish
