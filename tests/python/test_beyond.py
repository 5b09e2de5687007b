# SPDX-License-Identifier: MIT
"""What pynisher, wrapt_timeout_decorator and mpservice cannot do: tell an OOM kill from
a SIGKILL, cap a whole process tree, say how precise the verdict is, stop a run on
Ctrl-C without the child ever seeing it."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import corral
import workloads
from conftest import IN_VM, SLOW, actual_backend, python_argv, python_env, skip_forked_memory_under_asan

MiB = workloads.MiB


def test_oom_kill_is_not_a_sigkill_the_function_sent_itself(limits, start_method):
    skip_forked_memory_under_asan(start_method)
    with pytest.raises(corral.Signaled) as e:
        corral.call(workloads.self_sigkill, memory="256M", start_method=start_method, **limits)
    r = e.value.result
    assert (r.status, r.signal, e.value.signal) == ("signaled", 9, 9)
    assert r.evidence["oom_kill"] == 0 and not isinstance(e.value, MemoryError)

    with pytest.raises(corral.MemoryLimit) as e:
        corral.call(workloads.alloc, 768 * MiB, memory="256M", start_method=start_method, wall_time=60 * SLOW,
                    **limits)
    r = e.value.result
    if r.backend == "cgroup2":
        # the kernel's word: an OOM kill in this run's own cgroup
        assert r.status == "memory_limit" and r.signal == 9 and r.evidence["oom_kill"] >= 1
    else:
        assert r.enforcement["memory"] == "rlimit-data"


def test_a_process_trees_memory_is_capped(limits):
    """The function starts 4 children holding 96 MiB each: each is under 256M, their sum is not."""
    skip_forked_memory_under_asan()
    with pytest.raises(corral.MemoryLimit) as e:
        corral.call(workloads.tree_alloc, 4, 96 * MiB, 30 * SLOW, memory="256M", wall_time=120 * SLOW, **limits)
    r = e.value.result
    assert r.status == "memory_limit" and not e.value.inferred
    if r.backend == "cgroup2":
        assert r.evidence["oom_kill"] >= 1 and r.precise
    else:
        # the fallback samples the tree's resident memory (evidence says so)
        assert r.evidence["rss_peak_sampled_bytes"] > 256 * MiB
        assert r.evidence["inferred"]
    assert r.wall_time_s < 30 * SLOW  # stopped, not waited out


def test_precise_on_cgroup_v2(limits):
    r = corral.run(["true"], memory="64M", tasks=16, cpus=1, **limits)
    if actual_backend() != "cgroup2":
        assert r.precise is False and r.evidence["inferred"]
        pytest.skip("precise: true needs the cgroup2 rung (this host: %s); the VM runs it" % r.backend)
    assert r.precise is True and r.evidence["inferred"] is None
    assert {k: r.enforcement[k] for k in ("memory", "tasks", "cpu_quota")} == \
        {"memory": "cgroup", "tasks": "cgroup", "cpu_quota": "cgroup"}
    value, res = _call_with_result(workloads.alloc, 8 * MiB, memory="64M", **limits)
    assert value == 8 * MiB and res.precise is True and res.backend == "cgroup2"


def _call_with_result(fn, *args, **kw):
    with corral.spawn_call(fn, *args, **kw) as job:
        return job.value(), job.result


def test_crash_report(limits, start_method):
    with pytest.raises(corral.Signaled) as e:
        corral.call(workloads.segfault, start_method=start_method, **limits)
    assert e.value.signal == signal.SIGSEGV
    assert e.value.crash_report
    if start_method == "spawn":
        # a fresh interpreter run as a command: its faulthandler's Python traceback
        assert "Segmentation fault" in e.value.crash_report and "in segfault" in e.value.crash_report
    else:
        # libcorral's report from the forked child: signal, fault address, backtrace
        assert "SIGSEGV" in e.value.crash_report
    assert "SIGSEGV" in str(e.value)


def test_large_result_does_not_block_the_child(limits, start_method):
    n = 8 * MiB  # far beyond a pipe's 64 KiB
    assert corral.call(workloads.big_result, n, start_method=start_method, wall_time=60 * SLOW, **limits) == b"x" * n


def test_result_over_outputmax_is_an_error_not_a_truncation(limits, start_method):
    with pytest.raises(corral.InternalError, match="OutputMax"):
        corral.call(workloads.big_result, 2 * MiB, output_max=1 * MiB, start_method=start_method, **limits)


CTRL_C = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {here!r})
    import corral, workloads
    try:
        corral.call(workloads.write_pid_and_sleep, {path!r}, 60, start_method={method!r},
                    grace={grace!r}, backend={backend!r})
    except corral.Interrupted as e:
        assert isinstance(e, KeyboardInterrupt)
        print("interrupted", e.result.status, [s["signal"] for s in e.result.evidence["signals_sent"]])
        sys.exit(0)
    print("not interrupted")
""")


def test_ctrl_c_reaches_the_caller_only(limits, start_method, tmp_path):
    """A terminal's Ctrl-C goes to its foreground process group: here, the caller's.
    The caller stops the child gracefully (SIGTERM), and raises KeyboardInterrupt once
    the child is gone; the child never sees SIGINT."""
    path = tmp_path / "child.log"
    script = CTRL_C.format(here=os.path.dirname(os.path.abspath(__file__)), path=str(path),
                           method=start_method, grace=2.0 * SLOW, backend=limits["backend"])
    env = python_env(PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    p = subprocess.Popen(python_argv(script), stdout=subprocess.PIPE, env=env,
                         start_new_session=True)
    deadline = time.monotonic() + 30 * SLOW
    while not (path.exists() and "pid" in path.read_text()):
        assert time.monotonic() < deadline, "the function never started"
        time.sleep(0.02)
    child = int(path.read_text().split()[1])
    os.killpg(p.pid, signal.SIGINT)  # what the terminal does
    try:
        out, _ = p.communicate(timeout=30 * SLOW)
    except subprocess.TimeoutExpired:
        os.system("ps -o pid,ppid,pgid,sid,stat,wchan:32,cmd -e | grep -v grep | grep -E '%d|python3 -c'" % p.pid)
        os.system("grep -E 'Sig|State' /proc/%d/status; cat /proc/%d/stack" % (p.pid, p.pid))
        os.system("py-spy dump --pid %d 2>/dev/null" % p.pid)
        print(path.read_text())
        p.kill()
        raise
    assert p.returncode == 0, out
    assert out.decode().split("\n")[0] == "interrupted interrupted ['SIGTERM']"
    log = path.read_text()
    assert "signal %d" % signal.SIGTERM in log and "signal %d" % signal.SIGINT not in log
    assert not os.path.exists("/proc/%d" % child), "the function's process outlived the call"


def test_ctrl_c_between_spawn_and_wait_stops_the_run(limits, monkeypatch, tmp_path):
    """A Ctrl-C that lands after the child started but before corral.call waits for it
    (seen under load: raised inside the Job's constructor) must still stop the run
    gracefully and raise Interrupted, not escape as a bare KeyboardInterrupt with the
    function left running. Here the SIGINT comes right after the spawn, every time."""
    real = corral._corral.spawn_fn
    path = tmp_path / "child.log"

    def spawn_then_ctrl_c(*a):
        job = real(*a)
        os.kill(os.getpid(), signal.SIGINT)
        return job

    monkeypatch.setattr(corral._corral, "spawn_fn", spawn_then_ctrl_c)
    with pytest.raises(corral.Interrupted) as e:
        corral.call(workloads.write_pid_and_sleep, str(path), 60, grace=2.0 * SLOW, **limits)
    assert e.value.result.status == "interrupted"
    if path.exists() and "pid" in path.read_text():
        child = int(path.read_text().split()[1])
        assert not os.path.exists("/proc/%d" % child), "the function's process outlived the call"
