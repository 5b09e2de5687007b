# SPDX-License-Identifier: MIT
"""corral.Executor: a concurrent.futures.Executor whose workers are corral runs.

One dispatcher thread owns every job: it starts them (so all forks happen in one
thread), waits on all their fds at once with a selector, and completes the futures.
"""

import collections
import concurrent.futures as cf
import os
import selectors
import threading


class Executor(cf.Executor):
    """``Executor(max_workers=None, **limits)``: submit(fn, *args, **kwargs) runs fn as
    corral.call would (limits and start_method from the Executor); run(argv, **limits)
    runs a command and its future gives the Result. At most max_workers (default: the
    CPU count) runs at a time. A limit hit fails only its own future. Leaving a ``with``
    block by an exception (Ctrl-C) cancels what has not started and interrupts what runs."""

    def __init__(self, max_workers=None, **limits):
        from . import Policy, forkserver_start

        if max_workers is None:
            max_workers = os.cpu_count() or 1
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        self._max = max_workers
        self._policy = Policy(**limits)
        if self._policy.start_method == "forkserver":
            forkserver_start()  # now, before our dispatcher thread exists
        self._lock = threading.Lock()
        self._pending = collections.deque()
        self._shutdown = False
        self._interrupt = False
        self._thread = None
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)

    def _wake(self):
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass

    def _enqueue(self, item):
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            f = cf.Future()
            self._pending.append((f,) + item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="corral-executor", daemon=True)
                self._thread.start()
        self._wake()
        return f

    def submit(self, fn, /, *args, **kwargs):
        return self._enqueue(("call", fn, args, kwargs))

    def run(self, argv, **limits):
        """A command; the future's result is its Result (limits add to the Executor's)."""
        return self._enqueue(("run", argv, limits, None))

    def _start(self, kind, a, b, c):
        from . import Policy, _spawn_call, spawn

        if kind == "call":
            return _spawn_call(a, b, c, self._policy)
        return spawn(a, policy=Policy(policy=self._policy, **b) if b else self._policy)

    def _loop(self):
        sel = selectors.DefaultSelector()
        sel.register(self._wake_r, selectors.EVENT_READ, None)
        running = {}
        try:
            while True:
                with self._lock:
                    interrupt, self._interrupt = self._interrupt, False
                    starts = []
                    while self._pending and len(running) + len(starts) < self._max:
                        starts.append(self._pending.popleft())
                    stop = self._shutdown and not self._pending and not running and not starts
                if interrupt:
                    for job, _, _ in running.values():
                        job.interrupt()
                if stop:
                    break
                for f, kind, a, b, c in starts:
                    if not f.set_running_or_notify_cancel():
                        continue
                    try:
                        job = self._start(kind, a, b, c)
                    except BaseException as e:
                        f.set_exception(e)
                        continue
                    fd = job.fileno()
                    running[fd] = (job, f, kind)
                    sel.register(fd, selectors.EVENT_READ, fd)
                for key, _ in sel.select():
                    if key.data is None:
                        try:
                            while os.read(self._wake_r, 512):
                                pass
                        except BlockingIOError:
                            pass
                        continue
                    job, f, kind = running[key.data]
                    try:
                        done = job.dispatch()
                    except BaseException as e:
                        done = True
                        err = e
                    else:
                        err = None
                    if not done:
                        continue
                    sel.unregister(key.data)
                    del running[key.data]
                    try:
                        if err is not None:
                            raise err
                        r = job.result
                        f.set_result(r if kind == "run" else job._decode(job, r))
                    except BaseException as e:
                        f.set_exception(e)
                    finally:
                        job.close()
        finally:
            for job, f, _ in running.values():
                job.close()
                if not f.done():
                    f.set_exception(RuntimeError("corral.Executor: dispatcher stopped"))
            sel.close()

    def shutdown(self, wait=True, *, cancel_futures=False):
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while self._pending:
                    self._pending.popleft()[0].cancel()
            t = self._thread
        self._wake()
        if wait and t is not None:
            t.join()

    def interrupt(self):
        """Cancel what has not started; stop what runs gracefully (status interrupted)."""
        with self._lock:
            while self._pending:
                self._pending.popleft()[0].cancel()
            self._interrupt = True
        self._wake()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.interrupt()
        self.shutdown(wait=True)
        return False

    def __del__(self):
        for fd in (getattr(self, "_wake_r", -1), getattr(self, "_wake_w", -1)):
            try:
                os.close(fd)
            except OSError:
                pass
