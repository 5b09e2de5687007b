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
