# SPDX-License-Identifier: MIT
"""Many runs at once: the Job's fd, asyncio, corral.Executor."""

import asyncio
import concurrent.futures as cf
import select
import sys
import time

import pytest

import corral
import workloads
from conftest import SLOW, STARTUP


def test_job_fd_in_a_poll_loop(limits):
    jobs = [corral.spawn(["sleep", "0.3"], **limits) for _ in range(3)]
    jobs.append(corral.spawn_call(workloads.add, 40, 2, **limits))
    t = time.monotonic()
    pending = {j.fileno(): j for j in jobs}
    while pending:
        ready, _, _ = select.select(list(pending), [], [], 30 * SLOW)
        assert ready, "no job fd became readable"
        for fd in ready:
            if pending[fd].dispatch():
                del pending[fd]
    took = time.monotonic() - t
    assert [j.result.status for j in jobs] == ["ok"] * 4
    # concurrently, not one after the other: less than the runs' own times added up
    assert took < sum(j.result.wall_time_s for j in jobs[:3])
    assert jobs[3].value() == 42
    for j in jobs:
        j.close()


def test_run_async_and_call_async(limits):
    async def main():
        t = time.monotonic()
        rs = await asyncio.gather(*(corral.run_async(["sleep", "0.3"], **limits) for _ in range(3)),
                                  corral.call_async(workloads.add, 1, b=2, **limits))
        return rs, time.monotonic() - t

    rs, took = asyncio.run(main())
    assert [r.status for r in rs[:3]] == ["ok"] * 3 and rs[3] == 3
    assert took < sum(r.wall_time_s for r in rs[:3])


def test_async_limit_and_cancel(limits):
    async def main():
        with pytest.raises(corral.WallTimeout):
            await corral.call_async(workloads.sleep, 10, wall_time=0.2, **limits)
        task = asyncio.ensure_future(corral.run_async(["sleep", "30"], **limits))
        await asyncio.sleep(0.2 + STARTUP / 4)
        t = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - t

    assert asyncio.run(main()) < 5 * SLOW


def test_executor_functions_and_commands(limits):
    with corral.Executor(max_workers=2, wall_time=30 * SLOW, **limits) as ex:
        futs = [ex.submit(workloads.add, i, 1) for i in range(6)]
        cmd = ex.run(["sh", "-c", "exit 3"])
        assert [f.result(timeout=60 * SLOW) for f in futs] == list(range(1, 7))
        assert cmd.result(timeout=60 * SLOW).exit_code == 3
        assert list(ex.map(workloads.add, [1, 2], [10, 20])) == [11, 22]
    with corral.Executor(max_workers=2, wall_time=STARTUP, **limits) as ex:
        hit = ex.submit(workloads.sleep, 30)
        fine = ex.submit(workloads.add, 2, 2)
        with pytest.raises(corral.WallTimeout):
            hit.result(timeout=60 * SLOW)  # a limit fails only its own future
        assert fine.result(timeout=60 * SLOW) == 4


def test_executor_runs_at_most_max_workers(limits):
    with corral.Executor(max_workers=2, **limits) as ex:
        t = time.monotonic()
        list(ex.map(workloads.sleep, [0.3] * 4))
        took = time.monotonic() - t
    assert took >= 0.6  # two rounds of two


def test_executor_shutdown_rules(limits):
    ex = corral.Executor(max_workers=1, **limits)
    first = ex.submit(workloads.sleep, 0.3)
    queued = ex.submit(workloads.sleep, 0.3)
    deadline = time.monotonic() + 30 * SLOW
    while not first.running() and time.monotonic() < deadline:
        time.sleep(0.01)
    ex.shutdown(wait=True, cancel_futures=True)
    assert first.result() == 0.3
    assert queued.cancelled()
    ex.shutdown()  # idempotent
    with pytest.raises(RuntimeError, match="after shutdown"):
        ex.submit(workloads.noop)


def test_executor_interrupt_on_exception(limits):
    with pytest.raises(KeyError):
        with corral.Executor(max_workers=1, **limits) as ex:
            running = ex.submit(workloads.sleep, 30)
            queued = ex.submit(workloads.noop)
            deadline = time.monotonic() + 30 * SLOW
            while not running.running() and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2 * SLOW)
            raise KeyError("leave the block")
    with pytest.raises(corral.Interrupted):
        running.result(timeout=10 * SLOW)
    assert queued.cancelled()


def test_executor_forkserver(limits):
    with corral.Executor(max_workers=2, start_method="forkserver", **limits) as ex:
        assert sorted(ex.map(workloads.add, range(4), range(4))) == [0, 2, 4, 6]
