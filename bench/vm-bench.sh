#!/bin/sh
# bench/vm-bench.sh — runs inside the test VM (tests/vm/init runs it as a suite script
# from the corral-test/supervisor cgroup); bench/run stages it there and reads the
# BENCH lines back from the console. Prints TAP so that init counts it: one test, ok
# when corral-bench finished.
#
# bench.conf next to this script (written by bench/run) may set ONLY=fig,fig.
ONLY=
here=$(dirname "$0")
# shellcheck source=/dev/null
[ -f "$here/bench.conf" ] && . "$here/bench.conf"

echo "1..1"
fact() { printf 'BENCHFACT\tvm\t%s\t%s\n' "$1" "$2"; }
fact kernel "$(uname -r)"
fact cpus "$(nproc)"
fact memory "$(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)"
fact cgroup "$(cat /sys/fs/cgroup/cgroup.controllers) (delegated: $(cat /sys/fs/cgroup/corral-test/cgroup.subtree_control 2>/dev/null))"
fact loadavg_before "$(cut -d' ' -f1-3 /proc/loadavg)"

t0=$(cut -d' ' -f1 /proc/uptime)
/corral/programs/corral-bench --env vm --profile tcg --backends cgroup2 \
        --work /corral/programs/bench-work --corral /corral/bin/corral ${ONLY:+--only "$ONLY"}
rc=$?
t1=$(cut -d' ' -f1 /proc/uptime)
fact loadavg_after "$(cut -d' ' -f1-3 /proc/loadavg)"
fact bench_seconds "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')"

if [ $rc -eq 0 ]; then
        echo "ok 1 - corral-bench finished"
else
        echo "not ok 1 - corral-bench exited with status $rc"
fi
