# SPDX-License-Identifier: MIT
"""asyncio: await a run through its job fd (loop.add_reader), never a thread."""

import asyncio


async def _until_done(job):
    loop = asyncio.get_running_loop()
    fd = job.fileno()
    while not job.dispatch():
        fut = loop.create_future()

        def ready(fut=fut):
            if not fut.done():
                fut.set_result(None)

        loop.add_reader(fd, ready)
        try:
            await fut
        finally:
            loop.remove_reader(fd)


async def _await(job):
    try:
        await _until_done(job)
    except asyncio.CancelledError:
        # Task.cancel(), asyncio.timeout(), Ctrl-C under asyncio.run(): stop the run
        # gracefully and let it end before the cancellation goes on.
        job.interrupt()
        try:
            await _until_done(job)
        except asyncio.CancelledError:
            pass  # cancelled again: close() below kills and reaps it
        raise
    return job.result


async def run_async(argv, **limits):
    """``await corral.run_async(argv, **limits)``: corral.run() for asyncio."""
    from . import spawn

    with spawn(argv, **limits) as job:
        return await _await(job)


async def call_async(fn, /, *args, **kwargs):
    """``await corral.call_async(fn, *args, **kwargs)``: corral.call() for asyncio."""
    from . import spawn_call

    with spawn_call(fn, *args, **kwargs) as job:
        r = await _await(job)
        return job._decode(job, r)
