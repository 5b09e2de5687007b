#!/bin/sh
# The Python binding's pytest suite (tests/python) on the cgroup2 rung, as TAP: pytest's
# own output first (it ends with its summary), then one TAP line per test.
. "$(dirname "$0")/../../integration/lib.sh"

if ! command -v python3 >/dev/null 2>&1 || [ ! -d /corral/python/corral ]; then
        echo "1..0 # SKIP no Python in the image (CORRAL_VM_PYTHON=0, or no python3-dev at build time)"
        exit 0
fi

log=$CR_TMP/pytest.log
PYTHONPATH=/corral/python CORRAL_TEST_BACKEND=${CR_BACKEND:-cgroup2} CR_IN_VM=1 PYTHONDONTWRITEBYTECODE=1 \
        python3 -c "import sys, pytest; sys.exit(pytest.main(sys.argv[1:]))" -p no:cacheprovider -v -rs --durations=15 /corral/tests/python >"$log" 2>&1
rc=$?
sed 's/^/# /' "$log"

awk '
        / (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)( |$)/ && /::/ {
                n++
                name = $1
                if ($0 ~ / PASSED/ || $0 ~ / XFAIL/) print "ok " n " - " name
                else if ($0 ~ / SKIPPED/) print "ok " n " - " name " # SKIP"
                else print "not ok " n " - " name
        }
        END { print "1.." n }' "$log"
[ "$rc" -eq 0 ] || echo "# pytest exited with status $rc"
exit "$rc"
