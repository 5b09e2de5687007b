# SPDX-License-Identifier: MIT
"""wrapt_timeout_decorator's documented behaviour: the SIGTERM handler, start methods,
signal reset in the child (dec_mp_reset_signals), results that do not pickle."""

import os
import signal
import threading
import time

import pytest

import corral
import workloads
from conftest import SLOW, STARTUP, startup


def test_sigterm_handler_gets_its_grace(limits, start_method, tmp_path):
    marker = tmp_path / "marker"
    wall = startup(start_method)
    for _ in range(4):
        with pytest.raises(corral.WallTimeout) as e:
            corral.call(workloads.sigterm_graceful, str(marker), 0.05, wall_time=wall, grace=5 * SLOW,
                        start_method=start_method, **limits)
        if os.path.exists(str(marker) + ".armed"):
            break
        wall *= 2  # a loaded host: the interpreter had not reached the function yet
    r = e.value.result
    assert marker.read_text() == "cleaned up after SIGTERM\n"
    # It left within its grace: SIGTERM was the only signal sent, no SIGKILL.
    assert [s["signal"] for s in r.evidence["signals_sent"]] == ["SIGTERM"]
    assert r.status == "wall_timeout"


def test_sigterm_ignored_is_killed_after_grace(limits):
    with pytest.raises(corral.WallTimeout) as e:
        corral.call(_ignore_term_and_sleep, wall_time=STARTUP, grace=0.3, **limits)
    sent = [s["signal"] for s in e.value.result.evidence["signals_sent"]]
    assert sent == ["SIGTERM", "SIGKILL"]


def _ignore_term_and_sleep():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(60)


def test_timeout_per_start_method(limits, start_method):
    t = time.monotonic()
    with pytest.raises(corral.WallTimeout):
        corral.call(workloads.sleep, 10, wall_time=startup(start_method), start_method=start_method, **limits)
    assert time.monotonic() - t < 5 * SLOW


def test_deadlocked_lock_times_out(limits):
    """wrapt_timeout_decorator's test: a function stuck on a lock it holds itself."""
    def stuck():
        lock = threading.Lock()
        lock.acquire()
        lock.acquire()

    with pytest.raises(corral.WallTimeout):
        corral.call(stuck, wall_time=0.3, **limits)


def test_generator_result_is_a_clear_error(limits, start_method):
    t = time.monotonic()
    with pytest.raises(corral.ResultError, match="cannot be pickled") as e:
        corral.call(workloads.return_unpicklable, start_method=start_method, wall_time=30 * SLOW, **limits)
    assert isinstance(e.value, TypeError)
    assert e.value.result.status == "exited"
    assert time.monotonic() - t < 10 * SLOW  # an error, not a hang


def test_child_starts_with_default_signal_handlers(limits, start_method):
    """dec_mp_reset_signals, always: the caller's handlers and wakeup fd stay behind
    (an asyncio/uvicorn app routes signals through its wakeup fd)."""
    r, w = os.pipe()
    os.set_blocking(w, False)
    old_fd = signal.set_wakeup_fd(w)
    old_term = signal.signal(signal.SIGTERM, lambda *a: None)
    old_usr1 = signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        d = corral.call(workloads.dispositions, start_method=start_method, **limits)
    finally:
        signal.set_wakeup_fd(old_fd)
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGUSR1, old_usr1)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        os.close(r)
        os.close(w)
    assert d["wakeup_fd"] == -1
    assert d["SIGTERM"] == "default" and d["SIGUSR1"] == "default" and d["SIGHUP"] == "default"
    assert d["SIGINT"] == "python-default"  # as in a fresh interpreter
    bit = lambda s: 1 << (s - 1)  # noqa: E731
    assert not d["SigCgt"] & (bit(signal.SIGTERM) | bit(signal.SIGUSR1))
    assert not d["SigIgn"] & bit(signal.SIGUSR1)
    assert d["SigBlk"] == 0
    # Its own session: a terminal's Ctrl-C never reaches it.
    assert d["sid"] == d["pid"]


def test_function_output_and_the_callers_buffer(limits, start_method, capfd):
    with corral.spawn_call(workloads.print_and_return, "hello", capture=True, start_method=start_method,
                           **limits) as job:
        assert job.value() == 5
        r = job.result
    assert r.stdout == b"hello\n" and r.stderr == b"to fd 2\n"
