# SPDX-License-Identifier: MIT
# shellcheck shell=sh
#
# lib.sh: what every integration and VM suite script sources. POSIX sh: it runs
# under bash and dash on the host and under busybox ash in the test VM.
#
#   . "$(dirname "$0")/lib.sh"                        (tests/integration/test-*.sh)
#   . "$(dirname "$0")/../../integration/lib.sh"      (tests/vm/suite/*.sh)
#
# Environment (meson sets it natively, tests/vm/run-vm in the VM):
#   CORRAL      the corral binary                  default: <root>/build/src/cli/corral
#   CR_PROGS    the built tests/programs           default: <root>/build/tests/programs
#   CR_TMP      scratch space (per suite, per rung) default: ${TMPDIR:-/tmp}/cr
#   CR_BACKEND  the rung to force with --backend; empty or "auto" lets corral pick
#   CR_IN_VM    1 inside the qemu VM (TCG: 5-20x slower, cgroup2 with controllers)
#
# TAP: `plan N` first; each test point is
#
#   begin "description"        new test point, new scratch dir $T_DIR
#   cr_run -t 1s -- "$P/cr-exit" --sleep 60     corral run --json [--backend] ARGS
#   expect_exit 124
#   expect_json 'status == wall_timeout' 'evidence.limit_hit == RuntimeMaxSec'
#   end
#
# and `finish` last: it prints a summary and exits 1 if any test point failed or
# the plan was not met. `skip "description" "reason"` is a test point that could not
# run here; it says so (# SKIP), it never passes silently. One-line test points:
# `ok DESC`, `not_ok DESC [DIAG]`, `check DESC COMMAND...`.

case ${0##*/} in
lib.sh)
        # Harnesses that run every *.sh of this directory: this file is not a suite.
        echo "1..0 # SKIP lib.sh is the suites' library, not a suite"
        exit 0
        ;;
esac

# ---- environment ----

cr_find_root() {
        _d=$(cd "$(dirname "$0")" 2>/dev/null && pwd)
        for _i in 1 2 3 4 5; do
                if [ -f "$_d/include/corral.h" ] || [ -d "$_d/tests/integration" ]; then
                        echo "$_d"
                        return 0
                fi
                _d=$(dirname "$_d")
        done
        echo "."
}

CR_ROOT=${CR_ROOT:-$(cr_find_root)}
CORRAL=${CORRAL:-$CR_ROOT/build/src/cli/corral}
CR_PROGS=${CR_PROGS:-$CR_ROOT/build/tests/programs}
CR_TMP=${CR_TMP:-${TMPDIR:-/tmp}/cr}
CR_IN_VM=${CR_IN_VM:-0}
P=$CR_PROGS
CR_JSONCHK=$CR_PROGS/cr-json
export CORRAL CR_PROGS CR_TMP CR_IN_VM

# Upper bounds on times are scaled in the VM: software emulation is slow.
if [ "$CR_IN_VM" = 1 ]; then CR_SLOW=10; else CR_SLOW=1; fi

CR_SUITE=${0##*/}
CR_SUITE=${CR_SUITE%.sh}
CR_WORK=$CR_TMP/$CR_SUITE.${CR_BACKEND:-auto}
rm -rf "$CR_WORK"
mkdir -p "$CR_WORK" || {
        echo "Bail out! cannot create $CR_WORK"
        exit 1
}

CR_N=0        # test points so far
CR_PLANNED=
CR_FAILED=0
CR_SKIPPED=0
CR_WRAP=      # a command put in front of corral (unquoted: words split), e.g. unshare
CR_KILLED_CORRAL= # test points where the suite had to SIGKILL a hung corral
T_DIR=$CR_WORK/0
T_DESC=
T_BAD=0
T_OPEN=0

if [ ! -x "$CORRAL" ]; then
        echo "Bail out! corral is not built: no executable at $CORRAL (set CORRAL)"
        exit 1
fi
if [ ! -x "$CR_JSONCHK" ]; then
        echo "Bail out! the test programs are not built: no $CR_JSONCHK (set CR_PROGS)"
        exit 1
fi

# The rung the suite expects corral to use: the forced one, else what doctor says.
cr_detect_rung() {
        case ${CR_BACKEND:-auto} in
        auto) "$CORRAL" doctor --json 2>/dev/null | "$CR_JSONCHK" - chosen 2>/dev/null || echo unknown ;;
        *) echo "$CR_BACKEND" ;;
        esac
}
CR_RUNG=$(cr_detect_rung)

# Where corral creates its run-* groups: doctor's cgroup_base, else the known places.
cr_detect_cg_base() {
        _b=$("$CORRAL" doctor --json 2>/dev/null | "$CR_JSONCHK" - cgroup_base 2>/dev/null)
        if [ -n "$_b" ] && [ "$_b" != null ]; then
                if [ -d "$_b" ]; then echo "$_b"; return; fi
                for _m in /sys/fs/cgroup /sys/fs/cgroup/unified; do
                        if [ -d "$_m$_b" ]; then echo "$_m$_b"; return; fi
                done
        fi
        if [ "$CR_IN_VM" = 1 ]; then
                echo /sys/fs/cgroup/corral-test
        else
                echo /sys/fs/cgroup/unified
        fi
}
CR_CG_BASE=$(cr_detect_cg_base)

# require_rung RUNG: a suite that only makes sense on RUNG says so and skips whole.
require_rung() {
        if [ "$CR_RUNG" != "$1" ]; then
                echo "1..0 # SKIP needs the $1 rung; this is ${CR_RUNG} (the VM suite runs it: meson test --suite vm)"
                exit 0
        fi
}

# ---- TAP ----

plan() {
        CR_PLANNED=$1
        echo "1..$1"
        echo "# suite $CR_SUITE, rung ${CR_RUNG} (CR_BACKEND=${CR_BACKEND:-auto}), corral $CORRAL"
}

diag() {
        for _l in "$@"; do
                printf '# %s\n' "$_l"
        done
}

begin() {
        [ "$T_OPEN" = 1 ] && end
        CR_N=$((CR_N + 1))
        T_DESC=$*
        T_BAD=0
        T_OPEN=1
        T_DIR=$CR_WORK/$CR_N
        mkdir -p "$T_DIR"
        : >"$T_DIR/diag"
        : >"$T_DIR/cmd"
        CR_EXIT=
}

# fail MESSAGE...: the current test point fails; the message goes to its diagnostics.
fail() {
        T_BAD=1
        printf '%s\n' "$*" >>"$T_DIR/diag"
}

end() {
        [ "$T_OPEN" = 1 ] || return 0
        T_OPEN=0
        if [ "$T_BAD" = 0 ]; then
                echo "ok $CR_N - $T_DESC"
                return 0
        fi
        CR_FAILED=$((CR_FAILED + 1))
        echo "not ok $CR_N - $T_DESC"
        sed 's/^/#   /' "$T_DIR/diag"
        if [ -s "$T_DIR/cmd" ]; then
                sed 's/^/#   command: /' "$T_DIR/cmd"
                echo "#   exit code: ${CR_EXIT:-?}"
                if [ -s "$T_DIR/stderr" ]; then
                        echo "#   stderr (last 5 lines):"
                        tail -n 5 "$T_DIR/stderr" | sed 's/^/#     /'
                fi
                if [ -s "$T_DIR/json" ]; then
                        echo "#   result:"
                        sed 's/^/#     /' "$T_DIR/json"
                fi
        fi
        echo "#   files: $T_DIR"
}

# ok DESCRIPTION / not_ok DESCRIPTION [DIAGNOSTIC...]: a one-line test point.
ok() {
        begin "$@"
        end
}

not_ok() {
        begin "$1"
        shift
        fail "${*:-failed}"
        end
}

# check DESCRIPTION COMMAND...: a test point that passes when COMMAND succeeds.
check() {
        _what=$1
        shift
        begin "$_what"
        "$@" || fail "command failed: $*"
        end
}

# skip DESCRIPTION REASON: a test point that cannot run here, said out loud.
skip() {
        [ "$T_OPEN" = 1 ] && end
        CR_N=$((CR_N + 1))
        CR_SKIPPED=$((CR_SKIPPED + 1))
        echo "ok $CR_N - $1 # SKIP $2"
}

finish() {
        [ "$T_OPEN" = 1 ] && end
        if [ -n "$CR_PLANNED" ] && [ "$CR_N" != "$CR_PLANNED" ]; then
                echo "# planned $CR_PLANNED test points but ran $CR_N"
                CR_FAILED=$((CR_FAILED + 1))
        fi
        echo "# $CR_SUITE (${CR_RUNG}): $((CR_N - CR_FAILED - CR_SKIPPED)) passed, $CR_FAILED failed, $CR_SKIPPED skipped"
        [ "$CR_FAILED" = 0 ]
        exit $?
}

# ---- running corral ----

# cr_run ARGS...: corral run --json [--backend $CR_BACKEND] ARGS, stdin from /dev/null;
# stdout, stderr, exit code and the last stdout line (the JSON) land in $T_DIR.
cr_run() {
        if [ -n "$CR_BACKEND" ]; then
                set -- run --json --backend "$CR_BACKEND" "$@"
        else
                set -- run --json "$@"
        fi
        printf '%s\n' "${CR_WRAP:+$CR_WRAP }corral $*" >>"$T_DIR/cmd"
        # shellcheck disable=SC2086 # CR_WRAP is a command line on purpose
        $CR_WRAP "$CORRAL" "$@" <"${CR_STDIN:-/dev/null}" >"$T_DIR/stdout" 2>"$T_DIR/stderr"
        CR_EXIT=$?
        cr_collect
}

# cr_exec ARGS...: corral ARGS as given (doctor, bad command lines), captured the same way.
cr_exec() {
        printf '%s\n' "corral $*" >>"$T_DIR/cmd"
        "$CORRAL" "$@" </dev/null >"$T_DIR/stdout" 2>"$T_DIR/stderr"
        CR_EXIT=$?
        cr_collect
}

cr_collect() {
        echo "$CR_EXIT" >"$T_DIR/exit"
        sed -n '$p' "$T_DIR/stdout" >"$T_DIR/json"
}

# cr_run_bg ARGS...: the same in the background with default signal dispositions
# (a non-interactive shell would start it with SIGINT ignored); pid in CR_BG_PID.
cr_run_bg() {
        if [ -n "$CR_BACKEND" ]; then
                set -- run --json --backend "$CR_BACKEND" "$@"
        else
                set -- run --json "$@"
        fi
        printf '%s\n' "${CR_WRAP:+$CR_WRAP }corral $* &" >>"$T_DIR/cmd"
        # shellcheck disable=SC2086 # CR_WRAP is a command line on purpose
        "$P/cr-sigdfl" $CR_WRAP "$CORRAL" "$@" </dev/null >"$T_DIR/stdout" 2>"$T_DIR/stderr" &
        CR_BG_PID=$!
}

# cr_wait_bg [SECONDS]: wait for the background corral (killing it after SECONDS, default 20*slow).
cr_wait_bg() {
        _limit=${1:-$((20 * CR_SLOW))}
        _t=0
        while kill -0 "$CR_BG_PID" 2>/dev/null; do
                # a finished child that is not yet reaped is a zombie: kill -0 still works
                _st=$(proc_state "$CR_BG_PID")
                [ "$_st" = Z ] && break
                if [ "$_t" -ge $((_limit * 10)) ]; then
                        fail "corral did not return within ${_limit}s; killed it"
                        kill -9 "$CR_BG_PID" 2>/dev/null
                        # a SIGKILLed corral cannot remove its group: later leak checks say why
                        CR_KILLED_CORRAL="$CR_KILLED_CORRAL $CR_N"
                        break
                fi
                sleep 0.1
                _t=$((_t + 1))
        done
        wait "$CR_BG_PID"
        CR_EXIT=$?
        cr_collect
}

# wait_procs GROUP [empty]: wait up to 5*slow s until GROUP's cgroup.procs lists a process
# (or, with "empty", none); 0 when it does. (cgroupfs files have size 0: read them.)
wait_procs() {
        _i=0
        while [ $_i -lt $((50 * CR_SLOW)) ]; do
                _p=$(cat "$1/cgroup.procs" 2>/dev/null)
                if [ "${2:-}" = empty ]; then [ -z "$_p" ] && return 0; else [ -n "$_p" ] && return 0; fi
                sleep 0.1
                _i=$((_i + 1))
        done
        return 1
}

# wait_for_file FILE [SECONDS]: 0 once FILE exists, 1 after SECONDS (default 10*slow).
wait_for_file() {
        _limit=${2:-$((10 * CR_SLOW))}
        _t=0
        while [ ! -e "$1" ]; do
                [ "$_t" -ge $((_limit * 20)) ] && return 1
                sleep 0.05
                _t=$((_t + 1))
        done
        return 0
}

# ---- expectations (each failure is recorded; the test point goes on) ----

expect_exit() {
        [ "$CR_EXIT" = "$1" ] || fail "exit code $CR_EXIT, expected $1"
}

# expect_json EXPR...: each 'PATH OP VALUE' must hold for the run's JSON (cr-json).
expect_json() {
        if ! "$CR_JSONCHK" "$T_DIR/json" "$@" >"$T_DIR/json-check" 2>&1; then
                T_BAD=1
                cat "$T_DIR/json-check" >>"$T_DIR/diag"
        fi
}

# json_get PATH: the value (strings raw) or nothing.
json_get() {
        "$CR_JSONCHK" "$T_DIR/json" "$1" 2>/dev/null
}

# expect_true DESCRIPTION COMMAND...: COMMAND must succeed.
expect_true() {
        _what=$1
        shift
        "$@" || fail "$_what"
}

# expect_stderr_line PATTERN: stderr is exactly one line and contains PATTERN (fixed string).
expect_stderr_line() {
        _n=$(wc -l <"$T_DIR/stderr" | tr -d ' ')
        [ "$_n" = 1 ] || fail "stderr has $_n lines, expected one"
        grep -qF -- "$1" "$T_DIR/stderr" || fail "stderr does not mention '$1'"
}

expect_stderr_contains() {
        grep -qiF -- "$1" "$T_DIR/stderr" || fail "stderr does not mention '$1'"
}

expect_stdout_contains() {
        grep -qF -- "$1" "$T_DIR/stdout" || fail "stdout does not contain '$1'"
}

# expect_result_backend: backend is the rung this suite runs on.
expect_backend() {
        case $CR_RUNG in
        cgroup2 | cgroup2-core | rlimit) expect_json "backend == $CR_RUNG" ;;
        *) expect_json 'backend == cgroup2|cgroup2-core|rlimit' ;;
        esac
}

# float_le A B: A <= B for decimal numbers.
float_le() {
        awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'
}

# ---- processes ----

# proc_state PID: the state letter from /proc/PID/stat (R S D Z ...), empty if gone.
proc_state() {
        sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null
}

# pids_alive FILE: the pids listed in FILE ("PID ROLE" lines from cr-tree or
# cr-spin --pidfile) that still run: kill -0 works, not a zombie, and still one of
# our programs (not a reused pid).
pids_alive() {
        while read -r _pid _role; do
                [ -n "$_pid" ] || continue
                kill -0 "$_pid" 2>/dev/null || continue
                _st=$(proc_state "$_pid")
                [ -z "$_st" ] || [ "$_st" = Z ] && continue
                tr '\0' ' ' <"/proc/$_pid/cmdline" 2>/dev/null | grep -q -e cr-tree -e cr-spin || continue
                echo "$_pid $_role"
        done <"$1"
}

# kill_pids FILE: clean up after a failed survivors test so later tests are not disturbed.
kill_pids() {
        pids_alive "$1" | while read -r _pid _role; do
                kill -9 "$_pid" 2>/dev/null
        done
}

# ---- cgroups ----

# CR_MEMCG_FORCED: how far memory.peak may pass memory.max by the kernel's own rules.
# try_charge_memcg() charges an allocation that must not fail (__GFP_NOFAIL, __GFP_HIGH:
# page tables and kernel memory of a task being OOM-killed) past the limit instead of
# refusing it; seen in the systemd VM: one page over MemoryMax=64M with oom_kill 2. The
# allowance is one charge batch (MEMCG_CHARGE_BATCH, 64 pages): far below what a real
# overshoot (no limit, or the wrong group) would show.
CR_MEMCG_FORCED=$((64 * 4096))

# cg_list: every run-* group under the base (up to three levels down).
cg_list() {
        for _g in "$CR_CG_BASE"/run-* "$CR_CG_BASE"/*/run-* "$CR_CG_BASE"/*/*/run-*; do
                [ -d "$_g" ] && echo "$_g"
        done
}

# cg_snapshot: remember the run-* groups that exist now (others' runs, earlier leaks).
cg_snapshot() {
        cg_list | sort >"$CR_WORK/cg.before"
}

# cg_leftovers: groups that appeared since cg_snapshot, are still there after a
# short wait and hold no process (a run of someone else on this host holds one).
cg_leftovers() {
        _t=0
        while :; do
                cg_list | sort >"$CR_WORK/cg.after"
                if [ -s "$CR_WORK/cg.before" ]; then
                        grep -vxF -f "$CR_WORK/cg.before" "$CR_WORK/cg.after" >"$CR_WORK/cg.new"
                else
                        # (busybox grep -v with no patterns prints nothing)
                        cp "$CR_WORK/cg.after" "$CR_WORK/cg.new"
                fi
                [ -s "$CR_WORK/cg.new" ] || return 0
                [ "$_t" -ge $((20 * CR_SLOW)) ] && break
                sleep 0.1
                _t=$((_t + 1))
        done
        _leaks=$(while read -r _g; do
                # A group whose owner (run-<pid>.<n>) still lives is another program's (the
                # machine may be shared), emptied but not yet removed: its owner removes it.
                # Every corral this suite started has exited by now.
                _owner=${_g##*/run-}
                _owner=${_owner%%.*}
                case $_owner in
                '' | *[!0-9]*) ;;
                *) kill -0 "$_owner" 2>/dev/null && continue ;;
                esac
                # (cgroupfs files have size 0: read them, do not test -s)
                if [ -d "$_g" ] && [ -z "$(cat "$_g/cgroup.procs" 2>/dev/null)" ]; then echo "$_g"; fi
        done <"$CR_WORK/cg.new")
        [ -n "$_leaks" ] || return 0
        echo "$_leaks"
        if [ -n "$CR_KILLED_CORRAL" ]; then
                echo "(test points$CR_KILLED_CORRAL had to SIGKILL a hung corral, which then cannot clean up)"
        fi
}

# cgpath_dir: the group directory cr-cgpath printed in this test point's stdout.
cgpath_dir() {
        sed -n 's/^dir=//p' "$T_DIR/stdout"
}

# cgpath_value FILE: what cr-cgpath printed for FILE (memory.max, pids.max, ...).
cgpath_value() {
        sed -n "s/^$1=//p" "$T_DIR/stdout"
}
