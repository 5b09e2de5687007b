# SPDX-License-Identifier: MIT
"""The corral pytest suite: the documented behaviour of pynisher, wrapt_timeout_decorator
and mpservice replayed against corral, plus what none of them can do.

Environment (set by meson natively, by tests/vm/suite/python.sh in the VM):
  CORRAL_TEST_BACKEND  the rung to force (cgroup2-core, rlimit, cgroup2); default auto
  CR_IN_VM             1 in the qemu VM (TCG: much slower; cgroup v2 with controllers)
"""

import os
import sys

import pytest

# In a sanitized build (tests/python/meson.build) this interpreter runs with the ASan and
# UBSan runtimes in LD_PRELOAD, for the extension. The commands it runs must not inherit
# them: ASan reserves terabytes of shadow memory, which a run's RLIMIT_DATA refuses.
# A Python child that imports corral gets them back through python_env().
SANITIZER_PRELOAD = os.environ.pop("LD_PRELOAD", None) if os.environ.get("CR_SANITIZED") == "1" else None


def python_env(**extra):
    """The environment for a python3 child that imports corral (the sanitizers' runtimes
    preloaded again in a sanitized build); start it with python_argv()."""
    env = dict(os.environ, **extra)
    if SANITIZER_PRELOAD:
        env["LD_PRELOAD"] = SANITIZER_PRELOAD
    return env


@pytest.fixture
def preload_for_runs():
    """Runs started in this test inherit the sanitizers' runtimes (a sanitized build; else
    nothing): for runs that import corral and set no memory limit."""
    if SANITIZER_PRELOAD:
        os.environ["LD_PRELOAD"] = SANITIZER_PRELOAD
    yield
    if SANITIZER_PRELOAD:
        os.environ.pop("LD_PRELOAD", None)


def skip_forked_memory_under_asan(start_method="fork"):
    """A forked child of a sanitized interpreter keeps ASan's shadow memory (terabytes of
    reserved address space), which RLIMIT_DATA counts: where MemoryMax is RLIMIT_DATA (the
    fallback rungs) it cannot map a page ("ERROR: Failed to mmap"). tests/fn skips likewise."""
    if SANITIZER_PRELOAD and start_method != "spawn" and actual_backend() != "cgroup2":
        pytest.skip("built with ASan: a forked child's inherited shadow memory counts against RLIMIT_DATA")


def python_argv(script, *args):
    """python3 -c script: the child drops LD_PRELOAD as this interpreter did, first thing."""
    return [sys.executable, "-c", 'import os; os.environ.pop("LD_PRELOAD", None)\n' + script] + list(args)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import corral  # noqa: E402
import workloads  # noqa: E402,F401 (imported before the forkserver: its children find it)

BACKEND = os.environ.get("CORRAL_TEST_BACKEND") or "auto"
IN_VM = os.environ.get("CR_IN_VM") == "1"
# Generous limits for work that must finish: TCG is 5-20x slower than the host.
SLOW = 10 if IN_VM else 1
# Seconds a child may need before the function runs (a spawn interpreter under TCG): wall
# limits meant to stop a function that has started are this plus what the test needs.
STARTUP = 3.0 if IN_VM else 1.0


def startup(method):
    """STARTUP for one start method: forked children start in milliseconds."""
    return STARTUP if method == "spawn" else min(STARTUP, 1.0)


def pytest_configure(config):
    # Before any test thread exists (the Executor's): the documented order.
    corral.forkserver_start()


def pytest_report_header(config):
    d = corral.doctor(backend=BACKEND)
    return "corral backend %s (auto would pick %s), in VM: %s" % (BACKEND, d["backend"], IN_VM)


@pytest.fixture
def limits():
    """The keywords every test passes: the rung under test."""
    return {"backend": BACKEND}


@pytest.fixture(params=corral.START_METHODS)
def start_method(request):
    return request.param


def actual_backend():
    return BACKEND if BACKEND != "auto" else corral.doctor()["backend"]
