# SPDX-License-Identifier: MIT
"""corral.run(): commands, the Result, and values parsed by libcorral."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import corral
from conftest import BACKEND, SANITIZER_PRELOAD, SLOW, python_argv, python_env

JSON_KEYS = {"status", "exit_code", "signal", "wall_time_s", "cpu_time_s", "user_time_s",
             "system_time_s", "memory_peak_bytes", "oom_kills", "pids_peak", "pids_limit_hits",
             "backend", "precise", "error", "enforcement", "evidence"}


def corral_cli():
    here = os.path.dirname(corral.__file__)
    return os.environ.get("CORRAL") or os.path.join(here, "..", "..", "src", "cli", "corral")


def test_ok_and_every_json_field(limits):
    r = corral.run(["true"], memory="256M", wall_time="1min 30s", cpu_time=10, **limits)
    assert r.status == "ok" and r.ok
    assert r.exit_code == 0 and r.signal is None
    assert JSON_KEYS <= set(r.json)
    for k in JSON_KEYS:
        assert getattr(r, k) == r.json[k]
    assert r.backend == (BACKEND if BACKEND != "auto" else r.backend)
    assert {"memory", "wall_time", "cpu_time"} <= set(r.enforcement)
    assert "tasks" not in r.enforcement  # only the limits that were set
    assert r.evidence["memory_max_bytes"] == 256 << 20
    assert r.exit_status == 0


@pytest.mark.skipif(not os.access(corral_cli(), os.X_OK), reason="the corral CLI is not built beside the module")
def test_same_fields_as_the_cli(limits):
    out = subprocess.run([corral_cli(), "run", "--json", "--backend", limits["backend"], "-m", "64M", "--",
                          "sh", "-c", "exit 3"], stdout=subprocess.PIPE, check=False).stdout
    cli = json.loads(out.decode().strip().splitlines()[-1])
    r = corral.run(["sh", "-c", "exit 3"], memory="64M", **limits)
    assert set(r.json) == set(cli)
    assert set(r.json["evidence"]) == set(cli["evidence"])
    assert (r.status, r.exit_code) == (cli["status"], cli["exit_code"]) == ("exited", 3)


def test_a_big_callers_memory_is_not_the_runs(limits):
    """A caller holding 200 MiB, runs under a 96M limit. Found under ASan, whose quarantine
    makes the interpreter big: rusage's peak of a command holds its image before exec (the
    caller's pages: fork copies them, vfork shares them), so `sh -c 'exit 3'` was
    memory_limit; the fallback's samples counted the PrivatePIDs= init (a copy of the
    caller that never execs) and a forked function's inherited pages, so `sleep` under
    PrivatePIDs= and a function that sleeps were stopped as memory_limit."""
    script = textwrap.dedent("""
        import json, os, sys, time
        import corral
        big = bytearray(200 << 20)
        for i in range(0, len(big), 4096):
            big[i] = 1
        out = [corral.run(["sh", "-c", "exit 3"], memory="96M", backend=sys.argv[1]).json]
        if os.getuid() == 0:  # PrivatePIDs= needs root
            out.append(corral.run(["sleep", "0.3"], memory="96M", backend=sys.argv[1],
                                  properties={"PrivatePIDs": "yes"}).json)
        if sys.argv[2] != "asan":  # a forked child of ASan cannot map under RLIMIT_DATA
            def nap():
                time.sleep(0.3)
                return 7
            out.append(corral.call(nap, memory="96M", backend=sys.argv[1], start_method="fork"))
        print(json.dumps(out))
    """)
    out = subprocess.run(python_argv(script, limits["backend"], "asan" if SANITIZER_PRELOAD else "-"),
                         stdout=subprocess.PIPE, check=True, timeout=60 * SLOW,
                         env=python_env(PYTHONPATH=os.pathsep.join(p for p in sys.path if p)))
    results = json.loads(out.stdout.decode().strip().splitlines()[-1])
    r = results.pop(0)
    assert (r["status"], r["exit_code"]) == ("exited", 3), r
    assert r["memory_peak_bytes"] < 96 << 20, r
    if os.getuid() == 0:
        r = results.pop(0)
        assert r["status"] == "ok" and r["memory_peak_bytes"] < 96 << 20, r
    if not SANITIZER_PRELOAD:
        assert results.pop(0) == 7


def test_strings_and_numbers_mean_the_same(limits):
    a = corral.run(["true"], memory="1G 512M", wall_time="1min 30s", grace="500ms", **limits)
    b = corral.run(["true"], memory=(1 << 30) + (512 << 20), wall_time=90, grace=0.5, **limits)
    assert a.evidence["memory_max_bytes"] == b.evidence["memory_max_bytes"] == (1 << 30) + (512 << 20)
    assert a.status == b.status == "ok"


@pytest.mark.parametrize("kw, needle", [
    ({"memory": "12Q"}, "memory: MemoryMax value '12Q'"),
    ({"memory": -5}, "memory: MemoryMax value '-5'"),
    ({"wall_time": "soon"}, "wall_time: RuntimeMaxSec value 'soon'"),
    ({"tasks": "1.5"}, "tasks: TasksMax value '1.5'"),
    ({"properties": {"NoSuchKey": "1"}}, "NoSuchKey"),
    ({"backend": "cgroup9"}, "cgroup9"),
])
def test_bad_values_are_libcorrals_one_line_errors(kw, needle):
    with pytest.raises(ValueError) as e:
        corral.run(["true"], **kw)
    assert needle in str(e.value)
    assert "\n" not in str(e.value)


def test_cpus_are_a_positive_number():
    with pytest.raises(ValueError, match="cpus"):
        corral.run(["true"], cpus=0)
    with pytest.raises(ValueError, match="cpus"):
        corral.run(["true"], cpus="half")


def test_unknown_keyword_is_a_typeerror():
    with pytest.raises(TypeError, match="unknown limit 'memroy'"):
        corral.run(["true"], memroy="1G")


def test_capture_is_bytes(limits):
    r = corral.run(["sh", "-c", "printf 'out\\377'; echo err >&2"], capture=True, **limits)
    assert r.stdout == b"out\xff" and r.stderr == b"err\n"
    assert r.json["stdout"] == "out\ufffd"
    assert r.stdout_truncated is False


def test_statuses(limits):
    assert corral.run(["sh", "-c", "exit 7"], **limits).status == "exited"
    r = corral.run(["sh", "-c", "kill -SEGV $$"], **limits)
    assert (r.status, r.signal, r.signal_name, r.exit_status) == ("signaled", 11, "SIGSEGV", 139)
    r = corral.run(["sleep", "30"], wall_time=0.3, **limits)
    assert r.status == "wall_timeout" and r.evidence["limit_hit"] == "RuntimeMaxSec"
    assert r.wall_time_s < 10 * SLOW
    r = corral.run(["/nonexistent/program"], **limits)
    assert r.status == "spawn_error" and r.exit_status == 127 and "not found" in r.error


def test_cpu_timeout_command(limits):
    r = corral.run([sys.executable, "-c", "while True: pass"], cpu_time=0.5, wall_time=60 * SLOW, **limits)
    assert r.status == "cpu_timeout"
    assert r.evidence["limit_hit"] == "CPUTimeMaxSec"
    assert r.cpu_time_s >= 0.5


def test_policy_objects_compose(limits):
    base = corral.Policy(memory="128M", **limits)
    r = corral.run(["true"], policy=base, wall_time=5)
    assert r.evidence["memory_max_bytes"] == 128 << 20 and "wall_time" in r.enforcement
    r = corral.run(["true"], policy=base, memory="64M")
    assert r.evidence["memory_max_bytes"] == 64 << 20


def test_policy_file_by_path(limits, tmp_path):
    f = tmp_path / "p.policy"
    f.write_text("# a policy file\nMemoryMax=96M\nRuntimeMaxSec=30\n")
    r = corral.run(["true"], policy=str(f), **limits)
    assert r.evidence["memory_max_bytes"] == 96 << 20 and "wall_time" in r.enforcement
    r = corral.run(["true"], policy=str(f), memory="32M", **limits)  # keywords win
    assert r.evidence["memory_max_bytes"] == 32 << 20
    f.write_text("MemoryMax=12Q\n")
    with pytest.raises(ValueError, match="p.policy:1"):
        corral.run(["true"], policy=str(f))


def test_syscall_filter_status_and_newer_keys(limits):
    r = corral.run(["sh", "-c", "echo $PPID"], properties={"SystemCallFilter": "~getppid"}, **limits)
    assert r.status == "syscall_denied" and r.signal == 9
    assert r.evidence["syscall_denied"]["name"] == "getppid"
    with pytest.raises(AttributeError):
        r.no_such_field


def test_syscall_filter_kills_a_spawned_function(limits):
    with pytest.raises(corral.SyscallDenied, match="getppid"):
        corral.call(os.getppid, start_method="spawn", properties={"SystemCallFilter": "~getppid"}, **limits)
