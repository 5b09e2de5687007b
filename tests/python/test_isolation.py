# SPDX-License-Identifier: MIT
"""Function runs under the isolation keys (corral.call / @corral.limit with policy=...):
the shipped `function` policy returns a Python function's value and stops hostile ones
with SyscallDenied and its evidence; the namespaces (root); what a CPython child needs
from a filter to send its result back; and a filtered run followed by an unfiltered one
in the same forkserver. fork and forkserver (a spawn run is a command: tests/integration).
"""

import os
import signal

import pytest

import corral
import workloads
import workloads_limited
from conftest import SANITIZER_PRELOAD, actual_backend, skip_forked_memory_under_asan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FUNCTION = os.path.join(os.environ.get("CR_POLICIES") or os.path.join(ROOT, "policies"), "function")
METHODS = ["fork", "forkserver"]
root = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root")


@pytest.fixture(params=METHODS)
def method(request):
    return request.param


@pytest.fixture
def limits(limits):
    """These tests are about isolation: under ASan, on the fallback rungs, the function
    policy's MemoryMax is lifted (MemoryMax=infinity after it). A forked child of the
    sanitized interpreter keeps ASan's shadow memory, which RLIMIT_DATA counts: it could not
    map a page ("ERROR: Failed to mmap")."""
    if SANITIZER_PRELOAD and actual_backend() != "cgroup2":
        return dict(limits, memory="infinity")
    return limits


def denied(excinfo, name):
    d = excinfo.value.result.evidence["syscall_denied"]
    assert d["name"] == name, d
    assert d["arch"] in ("x86_64", "aarch64") and d["action"] == "kill" and d["errno"] is None, d
    assert isinstance(d["nr"], int) and d["count"] >= 1, d
    assert excinfo.value.result.status == "syscall_denied" and excinfo.value.result.signal == signal.SIGKILL
    assert excinfo.value.result.enforcement["syscall_filter"] == "seccomp"


def test_function_policy_returns_the_value(method, limits):
    v = corral.call(workloads.parse, "a stranger's input", policy=FUNCTION, start_method=method, **limits)
    assert v == workloads.parse("a stranger's input")


def test_function_policy_by_name(method, limits, monkeypatch):
    monkeypatch.setenv("CORRAL_POLICY_PATH", os.path.dirname(FUNCTION))
    assert corral.call(workloads.add, 2, 3, policy="function", start_method=method, **limits) == 5


def test_limit_decorator_with_policy(limits):
    skip_forked_memory_under_asan()  # workloads_limited's functions keep the policy's MemoryMax
    # fork: the decorator around any callable; forkserver: workloads' decorated functions
    parse = corral.limit(policy=FUNCTION, start_method="fork", **limits)(workloads.parse)
    assert parse("x y")["words"] == ["x", "y"]
    with pytest.raises(corral.SyscallDenied) as e:
        corral.limit(policy=FUNCTION, start_method="fork", **limits)(workloads.inet_connect)()
    denied(e, "socket")
    assert workloads_limited.limited_parse("x y") == ["x", "y"]
    with pytest.raises(corral.SyscallDenied) as e:
        workloads_limited.limited_connect()
    denied(e, "socket")


@pytest.mark.parametrize("fn,name", [
    (workloads.inet_connect, "socket"),
    (workloads.ptrace_traceme, "ptrace"),
    (workloads.unshare_user, "unshare"),
    (workloads.kill_all_probe, "kill"),
    (workloads.getpid, None),  # control: the same policy lets an ordinary function through
])
def test_function_policy_denies(method, limits, fn, name):
    if name is None:
        assert corral.call(fn, policy=FUNCTION, start_method=method, **limits) > 0
        return
    with pytest.raises(corral.SyscallDenied) as e:
        corral.call(fn, policy=FUNCTION, start_method=method, **limits)
    denied(e, name)


def test_crashes_stay_crashes_under_the_filter(method, limits):
    with pytest.raises(corral.Signaled) as e:
        corral.call(workloads.segv, policy=FUNCTION, start_method=method, **limits)
    assert e.value.signal == signal.SIGSEGV and "SIGSEGV" in (e.value.crash_report or "")
    with pytest.raises(corral.Signaled) as e:
        corral.call(workloads.abort, policy=FUNCTION, start_method=method, **limits)
    assert e.value.signal == signal.SIGABRT and "SIGABRT" in (e.value.crash_report or "")


# What a CPython function child calls after the filter is loaded, beyond @default, to
# run a function and pickle its value back (measured: each of these, left out, is the
# first call denied): its signal reset, stdin to /dev/null, stdout/stderr rebound.
PYTHON_CHILD = "@default rt_sigaction openat newfstatat ioctl lseek"


def test_what_a_python_child_needs(method, limits):
    if SANITIZER_PRELOAD:
        pytest.skip("built with ASan: its runtime calls sigaltstack in the child, outside a Python child's calls")
    v = corral.call(workloads.parse, "a b c", start_method=method,
                    properties={"SystemCallFilter": PYTHON_CHILD}, **limits)
    assert v["words"] == ["a", "b", "c"]
    # and the filter is real: one more call than that is denied, with its name
    with pytest.raises(corral.SyscallDenied) as e:
        corral.call(workloads.kill_all_probe, start_method=method,
                    properties={"SystemCallFilter": PYTHON_CHILD}, **limits)
    denied(e, "kill")


def test_nothing_stays_for_the_next_run(limits):
    """The forkserver was forked before any policy: a denied run, then the same call
    allowed in the next run of the same helper."""
    with pytest.raises(corral.SyscallDenied):
        corral.call(workloads.kill_all_probe, start_method="forkserver", properties={"SystemCallFilter": "~kill"},
                    **limits)
    assert corral.call(workloads.kill_all_probe, start_method="forkserver", **limits) == "allowed"


@root
def test_protect_system_strict(method, limits):
    with pytest.raises(OSError) as e:
        corral.call(workloads.write_usr, policy=FUNCTION, start_method=method, **limits)
    assert e.value.errno == 30  # EROFS


@root
def test_private_tmp_left_file_is_gone(method, limits):
    path, before = corral.call(workloads.leave_tmp, policy=FUNCTION, start_method=method, **limits)
    assert before == [] and path.startswith("/tmp/") and not os.path.exists(path)


@root
def test_private_network_only_lo(method, limits):
    assert corral.call(workloads.links, start_method=method, properties={"PrivateNetwork": "yes"}, **limits) == ["lo"]
    with pytest.raises(OSError) as e:
        corral.call(workloads.inet_connect, start_method=method, properties={"PrivateNetwork": "yes"}, **limits)
    assert e.value.errno == 101  # ENETUNREACH


def test_private_pids_is_refused(method, limits):
    with pytest.raises(corral.SpawnError, match="PrivatePIDs"):
        corral.call(workloads.add, 1, start_method=method, properties={"PrivatePIDs": "yes"}, **limits)


@root
def test_dynamic_user(method, limits):
    with corral.spawn_call(workloads.getuid, start_method=method, properties={"DynamicUser": "yes"},
                           **limits) as job:
        uid = job.value()
        res = job.result
    assert 61184 <= uid <= 65519
    assert res.enforcement["user"] == "dynamic-user" and res.evidence["uid"] == uid
