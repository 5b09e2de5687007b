# SPDX-License-Identifier: MIT
"""pynisher's documented behaviour (test/test_memory.py, test_cputime.py, test_walltime.py,
test_api.py, 0.6's num_processes), replayed against corral, per start method."""

import os
import subprocess
import sys

import pytest

import corral
import workloads
from conftest import IN_VM, SLOW, STARTUP, actual_backend, python_argv, python_env, skip_forked_memory_under_asan, startup

LIMIT = 256 * workloads.MiB


def test_memory_three_times_the_limit_is_memorylimit(limits, start_method):
    skip_forked_memory_under_asan(start_method)
    with pytest.raises(corral.MemoryLimit) as e:
        corral.call(workloads.alloc, 3 * LIMIT, memory=LIMIT, start_method=start_method,
                    wall_time=60 * SLOW, **limits)
    r = e.value.result
    assert isinstance(e.value, MemoryError)  # like pynisher's MemoryLimitException
    assert r.evidence["memory_max_bytes"] == LIMIT
    if r.backend == "cgroup2":
        # The kernel's OOM killer in the run's own group: no guess.
        assert r.status == "memory_limit" and r.evidence["oom_kill"] >= 1 and not e.value.inferred
    else:
        # Fallback rungs: RLIMIT_DATA made the allocation fail in the child.
        assert r.enforcement["memory"] == "rlimit-data"
        assert e.value.inferred or r.status == "memory_limit"


def test_memory_a_third_of_the_limit_returns(limits, start_method):
    skip_forked_memory_under_asan(start_method)
    n = LIMIT // 3
    assert corral.call(workloads.alloc, n, memory=LIMIT, start_method=start_method,
                       wall_time=60 * SLOW, **limits) == n


def test_cpu_busy_loop_is_cputimeout(limits, start_method):
    with pytest.raises(corral.CpuTimeout) as e:
        corral.call(workloads.busy, cpu_time=0.5, wall_time=60 * SLOW, start_method=start_method, **limits)
    r = e.value.result
    assert isinstance(e.value, TimeoutError)
    assert r.status == "cpu_timeout" and r.evidence["limit_hit"] == "CPUTimeMaxSec"
    assert r.cpu_time_s >= 0.5


def test_cpu_within_the_limit_returns(limits):
    assert corral.call(workloads.busy, 0.1, cpu_time=30 * SLOW, **limits) > 0


def test_sleep_is_walltimeout_without_pynishers_five_seconds(limits, start_method):
    with pytest.raises(corral.WallTimeout) as e:
        corral.call(workloads.sleep, 30, wall_time=startup(start_method), start_method=start_method, **limits)
    r = e.value.result
    assert r.status == "wall_timeout" and r.evidence["limit_hit"] == "RuntimeMaxSec"
    # pynisher measured 6.0 s for wall 1 (SIGTERM ignored, 5 s more); corral's grace is 200 ms.
    assert r.wall_time_s < startup(start_method) + 1.5
    assert [s["signal"] for s in r.evidence["signals_sent"]][:1] == ["SIGTERM"]


def test_sleep_within_the_limit_returns(limits):
    assert corral.call(workloads.sleep, 0.1, wall_time=10 * SLOW, **limits) == 0.1


def test_process_count(limits):
    """pynisher 0.6 num_processes: starting more processes than allowed fails in the child."""
    backend = actual_backend()
    r = corral.run(["true"], tasks=3, **limits)
    if r.enforcement["tasks"] == "none":
        pytest.skip("TasksMax is enforced by nothing on %s as uid %d (RLIMIT_NPROC does not bind root): "
                    "the cgroup2 rung runs this in the VM" % (backend, os.getuid()))
    with pytest.raises(BlockingIOError) as e:
        corral.call(workloads.fork_many, 6, 1.0, tasks=3, wall_time=60 * SLOW, **limits)
    r = e.value.corral_result
    assert r.status == "exited"
    if r.enforcement["tasks"] == "cgroup":
        assert r.evidence["pids_max"] >= 1
    assert corral.call(workloads.fork_many, 2, 0.1, tasks=3, wall_time=60 * SLOW, **limits) == 2


def test_the_child_is_another_process(limits, start_method):
    assert corral.call(workloads.getpid, start_method=start_method, **limits) != os.getpid()


@corral.limit(wall_time=30 * SLOW, start_method="fork")
def mul_fork(a, b):
    return a * b, os.getpid()


@corral.limit(wall_time=30 * SLOW, start_method="forkserver")
def mul_forkserver(a, b):
    return a * b, os.getpid()


@corral.limit(wall_time=30 * SLOW, start_method="spawn")
def mul_spawn(a, b):
    return a * b, os.getpid()


DECORATED = {"fork": mul_fork, "forkserver": mul_forkserver, "spawn": mul_spawn}


def test_limit_decorator_every_start_method(start_method, preload_for_runs):
    """pynisher's test_limit_decorator (where its pid check is vacuous: it returns None).
    The spawn child imports this module, and so the extension."""
    value, pid = DECORATED[start_method](6, 7)
    assert value == 42 and pid != os.getpid()


def test_spawn_and_forkserver_need_functions_importable_by_name(start_method):
    @corral.limit(wall_time=30 * SLOW, start_method=start_method)
    def local(a, b):
        return a * b

    if start_method == "fork":
        assert local(6, 7) == 42
    else:
        with pytest.raises(Exception, match="importable by name"):
            local(6, 7)


def test_custom_exception_reraised_with_its_args(limits, start_method):
    with pytest.raises(workloads.CustomError) as e:
        corral.call(workloads.raise_custom, "apple", start_method=start_method, **limits)
    assert e.value.args == ("apple",)


def test_none_stays_none(limits):
    assert corral.call(workloads.noop, **limits) is None


@pytest.mark.parametrize("kw", [{"memory": -1}, {"memory": "12Q"}, {"cpu_time": -1}, {"wall_time": -1},
                                {"tasks": "x"}])
def test_bad_limits_name_the_argument(kw):
    arg = next(iter(kw))
    with pytest.raises(ValueError, match="^%s: " % arg):
        corral.call(workloads.noop, **kw)


def test_bad_start_method():
    with pytest.raises(ValueError, match="start_method"):
        corral.call(workloads.noop, start_method="thread")


PROCESS_COUNT = """
import sys
sys.path.insert(0, {here!r})
import corral, workloads
try:
    corral.call(workloads.fork_many, 6, 1.0, tasks=4, wall_time=60, backend="rlimit")
except BlockingIOError as e:
    r = e.corral_result
    # RLIMIT_NPROC counts every process of the user: this caller, the child, 2 forks
    print("refused", r.enforcement["tasks"], corral.call(workloads.fork_many, 2, 0.1, tasks=4, backend="rlimit"))
"""


def test_process_count_unprivileged_rlimit(tmp_path):
    """The same case as an unprivileged caller on the rlimit rung, where RLIMIT_NPROC binds."""
    if os.getuid() != 0:
        pytest.skip("switches to an unprivileged user: needs root")
    if IN_VM:
        pytest.skip("a native-rung case; in the VM pids.max does it (test_process_count)")
    # A uid nobody else on the host uses: RLIMIT_NPROC counts all of its processes.
    uid = 40000 + os.getpid() % 20000
    here = os.path.dirname(os.path.abspath(__file__))
    env = python_env(PYTHONPATH=os.pathsep.join(p for p in sys.path if p), HOME="/")
    out = subprocess.run(python_argv(PROCESS_COUNT.format(here=here)), user=uid, group=uid,
                         extra_groups=[], cwd="/", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=120 * SLOW)
    text = out.stdout.decode()
    assert out.returncode == 0, text
    assert text.split() == ["refused", "rlimit-nproc", "2"], text
