# SPDX-License-Identifier: MIT
"""corral for Python: kernel-enforced limits for commands and functions.

    import corral
    r = corral.run(["make", "-j4"], memory="2G", wall_time="10min")   # -> Result
    value = corral.call(fit, X, y, memory="4G", cpu_time=600)        # -> fit(X, y)

    @corral.limit(memory="256M", wall_time=5)
    def parse(blob): ...

A thin binding over libcorral: every value is parsed by libcorral (corral_policy_set,
the same strings as `corral run`); the run, its monitor and its verdict are libcorral's.
"""

import math
import os
import pickle
import shutil
import signal
import sys
import tempfile
import threading
import warnings

from . import _child, _corral  # noqa: F401 (_child: the function children's code, loaded before any fork)
from ._result import (CorralError, CpuTimeout, Exited, InternalError, Interrupted, LimitExceeded,
                      MemoryLimit, RemoteError, RemoteTraceback, Result, ResultError, Signaled,
                      SpawnError, SyscallDenied, WallTimeout)

__all__ = [
    "run", "spawn", "call", "spawn_call", "limit", "Policy", "Job", "Result", "doctor",
    "forkserver_start", "forkserver_stop", "run_async", "call_async", "Executor", "connect", "Client",
    "CorralError", "LimitExceeded", "MemoryLimit", "CpuTimeout", "WallTimeout", "Signaled",
    "SyscallDenied", "Exited", "Interrupted", "SpawnError", "InternalError", "ResultError", "RemoteError",
    "RemoteTraceback", "START_METHODS",
]

__version__ = _corral.VERSION

START_METHODS = ("fork", "forkserver", "spawn")

# Python argument -> libcorral policy key. The value goes to corral_policy_set() as a
# string: numbers become their decimal form (bytes, seconds), strings pass unchanged.
_KEYS = {
    "memory": "MemoryMax",
    "cpu_time": "CPUTimeMaxSec",
    "wall_time": "RuntimeMaxSec",
    "tasks": "TasksMax",
    "grace": "TimeoutStopSec",
    "backend": "Backend",
    "output_max": "OutputMax",
}
# Keywords corral.call() takes for itself; the rest go to the function.
_LIMIT_ARGS = frozenset(_KEYS) | {"cpus", "capture", "policy", "properties", "start_method"}


def _str_value(arg, v):
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isinf(v) and v > 0:
            return "infinity"
        if not math.isfinite(v):
            raise ValueError("%s=%r: not a number" % (arg, v))
        # Plain decimal: libcorral refuses exponents (1e-05).
        s = ("%.9f" % v).rstrip("0").rstrip(".")
        return s or "0"
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return v.decode()
    raise TypeError("%s=%r: expected a number or a string like the CLI's ('256M', '1min 30s')"
                    % (arg, v))


def _cpus_value(v):
    try:
        cpus = float(v)
    except (TypeError, ValueError):
        cpus = float("nan")
    if isinstance(v, bool) or not (0 < cpus <= 100000):
        raise ValueError("cpus=%r: expected a positive number of CPUs, like 0.5 or 2" % (v,))
    return "%.4f%%" % (cpus * 100)  # what `corral run --cpus` sets


# Built libcorral policies by their settings; read-only once built.
_POLICY_CACHE = {}


class Policy:
    """Limits and properties for runs; reusable. Keywords as for corral.run();
    ``properties`` takes any libcorral key (``{"MemoryRlimit": "as"}``). A Policy
    given as ``policy=`` comes first; explicit keywords override it."""

    __slots__ = ("properties", "start_method", "files", "_c")

    def __init__(self, *, policy=None, properties=None, start_method=None, cpus=None, capture=None,
                 **limits):
        props = {}
        method = None
        files = []
        if policy is not None:
            if isinstance(policy, Policy):
                props.update(policy.properties)
                method = policy.start_method
                files = list(policy.files)
            elif isinstance(policy, (str, os.PathLike)):
                files = [os.fspath(policy)]  # a policy file: a name (policies/) or a path
            elif isinstance(policy, dict):
                props.update({k: _str_value(k, v) for k, v in policy.items()})
            else:
                raise TypeError("policy=%r: expected a policy file name or path, a corral.Policy or a dict "
                                "of properties" % (policy,))
        for arg, v in limits.items():
            if arg not in _KEYS:
                raise TypeError("unknown limit %r (known: %s)" % (
                    arg, ", ".join(sorted(set(_KEYS) | {"cpus", "capture", "properties", "policy",
                                                        "start_method"}))))
            if v is not None:
                props[_KEYS[arg]] = _str_value(arg, v)
        if cpus is not None:
            props["CPUQuota"] = _cpus_value(cpus)
        if capture is not None:
            props["CaptureOutput"] = _str_value("capture", capture)
        for k, v in (properties or {}).items():
            props[k] = _str_value(k, v)
        if start_method is not None:
            if start_method not in START_METHODS:
                raise ValueError("start_method=%r: expected one of %s" % (start_method, ", ".join(START_METHODS)))
            method = start_method
        self.properties = props
        self.start_method = method
        self.files = files
        self._c = {}

    def _cpolicy(self, fn_method=None):
        """The libcorral policy (built once per StartMethod); ValueError names a bad value."""
        c = self._c.get(fn_method)
        key = (tuple(self.files), tuple(self.properties.items()), fn_method)
        if c is None:
            c = _POLICY_CACHE.get(key)  # corral.call(f, memory=...) in a loop: parse once
        if c is None:
            c = _corral.Policy()
            for name in self.files:
                c.load(name)  # first: keywords and properties override the file
            for k, v in self.properties.items():
                try:
                    c.set(k, v)
                except ValueError as e:
                    arg = next((a for a, key in _KEYS.items() if key == k), None)
                    raise ValueError("%s: %s" % (arg, e) if arg else str(e)) from None
            if fn_method is not None:
                c.set("StartMethod", fn_method)
            if not self.files:  # a file may change between calls
                if len(_POLICY_CACHE) >= 64:
                    _POLICY_CACHE.clear()
                _POLICY_CACHE[key] = c
        self._c[fn_method] = c
        return c

    def __repr__(self):
        return "Policy(%r%s)" % (self.properties, ", start_method=%r" % self.start_method
                                 if self.start_method else "")


def _policy(kw):
    pol = kw.pop("policy", None)
    if not kw and isinstance(pol, Policy):
        return pol
    return Policy(policy=pol, **kw)


# ---- jobs ----

class Job:
    """A run in progress: poll ``fileno()`` for readability, then ``dispatch()``; or
    ``wait()``. ``result`` is the Result once done. A function job's ``value()`` returns
    the function's value or raises by status. Close it (or use ``with``): a job closed
    while running is killed first."""

    def __init__(self, cjob, what, decode=None, cleanup=None):
        self._c = cjob
        self._what = what
        self._decode = decode
        self._cleanup = cleanup
        self._result = None

    def fileno(self):
        return self._c.fileno()

    def dispatch(self):
        """Bounded work, never blocks; True once the run is over."""
        return self._c.dispatch()

    @property
    def done(self):
        return self._c.done

    def interrupt(self):
        """Begin a graceful stop (SIGTERM, grace, SIGKILL); status interrupted."""
        return self._c.interrupt()

    @property
    def result(self):
        if self._result is None and self._c.done:
            self._result = Result(self._c.result())
        return self._result

    def wait(self, _sigmask=None):
        """Block until the run is over (without the GIL) and return its Result. Ctrl-C
        stops the run gracefully and raises Interrupted (a KeyboardInterrupt) once its
        processes are gone."""
        ctrl_c = False
        try:
            if _sigmask is not None:
                try:
                    # corral.call held Ctrl-C back since before the spawn: one that came
                    # meanwhile is raised by this call (pthread_sigmask runs the handlers)
                    signal.pthread_sigmask(signal.SIG_SETMASK, _sigmask)
                except KeyboardInterrupt:
                    ctrl_c = True
                    self._c.interrupt()
            self._c.wait()
        except KeyboardInterrupt:
            if not self._c.done:
                raise
            ctrl_c = True
        if not ctrl_c:
            return self.result
        r = self.result
        raise Interrupted("%s: interrupted; the run was stopped (status %s)" % (self._what, r.status),
                          r) from None

    def value(self, _sigmask=None):
        """The function's return value; raises by status (see corral.call)."""
        if self._decode is None:
            raise TypeError("not a function job: use result")
        r = self.wait(_sigmask)
        return self._decode(self, r)

    def close(self):
        c, self._c = self._c, _Closed()
        if isinstance(c, _Closed):
            return
        try:
            c.close()
        finally:
            if self._cleanup:
                self._cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return "<corral.Job %s %s>" % (self._what, "done" if self.done else "running")


class _Closed:
    done = True

    def __getattr__(self, name):
        raise ValueError("the job is closed")


def _argv(argv):
    if isinstance(argv, (str, bytes, os.PathLike)):
        return [argv]
    return list(argv)


def spawn(argv, **limits):
    """Start a command under the limits (as corral.run) and return its Job at once."""
    pol = _policy(limits)
    argv = _argv(argv)
    return Job(_corral.spawn(pol._cpolicy(), argv), os.fsdecode(argv[0]) if argv else "?")


def run(argv, **limits):
    """Run a command under kernel-enforced limits and return its Result.

    memory      MemoryMax      bytes, or "256M", "1.5G", "10%"
    cpu_time    CPUTimeMaxSec  seconds, or "1min 30s", "500ms" (CPU time of the whole tree)
    wall_time   RuntimeMaxSec  seconds, or a duration string
    tasks       TasksMax       processes + threads alive at once
    cpus        CPUQuota       throttle to this many CPUs (0.5)
    grace       TimeoutStopSec SIGTERM -> SIGKILL grace (default 200ms)
    capture     CaptureOutput  True: stdout/stderr into Result.stdout/.stderr (bytes)
    backend     Backend        "auto", "cgroup2", "cgroup2-core", "rlimit"
    properties  {key: value}   any libcorral policy key
    policy      a policy file ("untrusted", or a path: corral_policy_load), a
                corral.Policy, or a dict of properties; the keywords override it

    The status is in the Result; run() raises only for bad input (ValueError naming
    it) and on Ctrl-C (Interrupted, once the command is gone).
    """
    with spawn(argv, **limits) as job:
        return job.wait()


# ---- functions ----

_fs_lock = threading.Lock()
_fs_pid = None


def forkserver_start():
    """Start libcorral's forkserver for start_method="forkserver": a helper forked from
    this interpreter now, which forks each function child. Call it early, before the
    program starts threads; the first forkserver call does it otherwise (with a
    RuntimeWarning if threads exist by then). True if started, False if it runs."""
    global _fs_pid
    with _fs_lock:
        if _fs_pid == os.getpid():
            return False
        if threading.active_count() > 1:
            warnings.warn("corral: starting the forkserver in a process with %d threads: the helper "
                          "copies any lock they hold; call corral.forkserver_start() before starting "
                          "threads" % threading.active_count(), RuntimeWarning, stacklevel=3)
        _flush_std()
        started = _corral.forkserver_start()
        _fs_pid = os.getpid()
        return started


def forkserver_stop():
    """Stop the forkserver (its running functions are killed)."""
    global _fs_pid
    with _fs_lock:
        if _fs_pid == os.getpid():
            _corral.forkserver_stop()
            _fs_pid = None


def _flush_std():
    # The child's copies of unflushed buffers would be written twice.
    for s in (sys.stdout, sys.stderr):
        try:
            if s is not None:
                s.flush()
        except Exception:
            pass


def _fn_name(fn):
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _limit_message(what, r):
    ev = r.evidence or {}
    if r.status == "memory_limit":
        return "%s: memory limit exceeded (MemoryMax %d bytes, peak %d bytes, oom_kill %d, backend %s)" % (
            what, ev.get("memory_max_bytes", 0), r.memory_peak_bytes, ev.get("oom_kill", 0), r.backend)
    if r.status == "cpu_timeout":
        return "%s: CPU time limit of %gs exceeded (used %.3fs)" % (what, ev.get("deadline_s", 0), r.cpu_time_s)
    if r.status == "wall_timeout":
        return "%s: wall time limit of %gs exceeded" % (what, ev.get("deadline_s", 0))
    return "%s: %s" % (what, r.status)


def _rebuild(blob, type_name, message, tb, r, what):
    exc = None
    if blob is not None:
        try:
            exc = pickle.loads(blob)
        except Exception:
            exc = None
    if not isinstance(exc, BaseException):
        exc = RemoteError("%s raised %s: %s" % (what, type_name, message), r, type_name, tb)
    exc.__cause__ = RemoteTraceback(tb)
    try:
        exc.corral_result = r
    except Exception:
        pass
    return exc


def _decode_outcome(what, r, blob):
    st = r.status
    if st == "memory_limit":
        raise MemoryLimit(_limit_message(what, r), r)
    if st == "cpu_timeout":
        raise CpuTimeout(_limit_message(what, r), r)
    if st == "wall_timeout":
        raise WallTimeout(_limit_message(what, r), r)
    if st == "interrupted":
        raise Interrupted("%s: interrupted; the run was stopped" % what, r)
    if st == "spawn_error":
        raise SpawnError("%s could not start: %s" % (what, r.error), r)
    if st == "signaled":
        msg = "%s: the function's process died of %s" % (what, r.signal_name)
        if r.crash_report:
            msg += "\n" + r.crash_report.rstrip()
        raise Signaled(msg, r)
    if st == "syscall_denied":
        d = (r.evidence or {}).get("syscall_denied") or {}
        raise SyscallDenied("%s: the syscall filter killed it (%s)" % (what, d.get("name", "?")), r)
    if st == "internal_error":
        raise InternalError("%s: %s" % (what, r.error or "internal error"), r)
    # ok or exited: the outcome decides
    if not blob:
        raise Exited("%s: the function's process exited with %s without returning a value" % (
            what, r.exit_code), r)
    try:
        outcome = pickle.loads(blob)
    except Exception as e:
        raise ResultError("%s: its value cannot be unpickled here: %s: %s" % (what, type(e).__name__, e),
                          r) from e
    kind = outcome[0]
    if kind == "ok":
        return outcome[1]
    if kind == "raised":
        _, exc_blob, type_name, message, tb = outcome
        exc = _rebuild(exc_blob, type_name, message, tb, r, what)
        mem = (r.enforcement or {}).get("memory")
        if isinstance(exc, MemoryError) and mem in ("rlimit-data", "rlimit-as"):
            # The fallback rungs cap memory with an rlimit: the allocation failed in the child.
            m = MemoryLimit("%s: memory limit exceeded: MemoryError under %s (MemoryMax %d bytes, backend %s)"
                            % (what, mem, (r.evidence or {}).get("memory_max_bytes", 0), r.backend), r)
            m.inferred = True
            raise m from exc
        raise exc
    if kind == "unpicklable":
        raise ResultError("%s: %s" % (what, outcome[1]), r) from RemoteTraceback(outcome[2])
    if kind == "no-call":
        raise SpawnError("%s: the child could not load the call: %s" % (what, outcome[1]),
                         r) from RemoteTraceback(outcome[2])
    raise InternalError("%s: unknown outcome %r" % (what, kind), r)


def _fn_decoder(what):
    def decode(job, r):
        return _decode_outcome(what, r, r._output)
    return decode


def _call_pickle(fn, args, kwargs, method):
    try:
        return pickle.dumps((fn, args, kwargs), pickle.HIGHEST_PROTOCOL)
    except Exception as e:
        raise pickle.PicklingError(
            "corral: start_method=%r sends the function and its arguments by pickle, and %s: %s "
            "(functions must be importable by name: no lambdas or local functions; or use "
            "start_method='fork')" % (method, type(e).__name__, e)) from e


_PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SPAWN_MAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_spawnmain.py")


def _spawn_start(pol, fn, args, kwargs, what, spawner=None):
    import multiprocessing.spawn as mps

    out_max = _output_max(pol)
    call = _call_pickle(fn, args, kwargs, "spawn")
    prep = mps.get_preparation_data(what)
    if "authkey" in prep:
        prep["authkey"] = bytes(prep["authkey"])  # AuthenticationString refuses plain pickle
    if _PKG_PARENT not in prep["sys_path"]:
        prep["sys_path"] = list(prep["sys_path"]) + [_PKG_PARENT]
    d = tempfile.mkdtemp(prefix="corral-spawn-")
    try:
        with open(os.path.join(d, "in"), "wb") as f:
            pickle.dump((prep, call), f, pickle.HIGHEST_PROTOCOL)
        cjob = (spawner or _corral.spawn)(pol._cpolicy(), [sys.executable, _SPAWN_MAIN, d])
    except BaseException:
        shutil.rmtree(d, ignore_errors=True)
        raise

    def decode(job, r):
        blob = None
        if r.status == "signaled" and not r.crash_report:
            try:
                with open(os.path.join(d, "crash"), errors="replace") as f:
                    r.crash_report = f.read() or None
            except OSError:
                pass
        path = os.path.join(d, "out")
        try:
            size = os.stat(path).st_size
        except OSError:
            size = None
        if size is not None:
            if size > out_max and r.status in ("ok", "exited"):
                raise InternalError("%s: function output exceeded OutputMax (%d bytes)" % (what, out_max), r)
            with open(path, "rb") as f:
                blob = f.read()
        return _decode_outcome(what, r, blob)

    return Job(cjob, what, decode, lambda: shutil.rmtree(d, ignore_errors=True))


def _output_max(pol):
    v = pol.properties.get("OutputMax")
    if v is None:
        return 16 << 20  # libcorral's default
    if v.isdigit():
        return int(v)
    raise ValueError("output_max=%r: start_method='spawn' takes it as a number of bytes" % v)


def _spawn_call(fn, args, kwargs, pol):
    if not callable(fn):
        raise TypeError("corral.call: %r is not callable" % (fn,))
    method = pol.start_method or "fork"
    what = _fn_name(fn) + "()"
    if method == "spawn":
        return _spawn_start(pol, fn, args, kwargs, what)
    if method == "forkserver":
        payload = _call_pickle(fn, args, kwargs, "forkserver")
        forkserver_start()
        fork = False
    else:
        payload = (getattr(fn, "__corral_inner__", fn), args, kwargs)
        fork = True
    _flush_std()
    cjob = _corral.spawn_fn(pol._cpolicy(method), fork, payload)
    return Job(cjob, what, _fn_decoder(what))


def _split(kwargs):
    limits = {k: kwargs.pop(k) for k in list(kwargs) if k in _LIMIT_ARGS}
    return limits, kwargs


def spawn_call(fn, /, *args, **kwargs):
    """Start fn(*args, **kwargs) in a child under the limits (corral.call's keywords)
    and return its Job at once; ``job.value()`` waits and returns or raises."""
    limits, kwargs = _split(kwargs)
    return _spawn_call(fn, args, kwargs, _policy(limits))


def call(fn, /, *args, **kwargs):
    """Run fn(*args, **kwargs) in a child process under kernel-enforced limits and
    return its value.

    corral's keywords (taken out of kwargs; the rest go to fn): memory, cpu_time,
    wall_time, tasks, cpus, grace, capture, backend, output_max, properties, policy
    (as for corral.run) and start_method ("fork" default, "forkserver", "spawn").

    Raises by status, each exception with the run's ``result``: MemoryLimit,
    CpuTimeout, WallTimeout, Signaled (with the crash report), Interrupted (Ctrl-C: a
    KeyboardInterrupt, once the child is gone), SpawnError, Exited, InternalError,
    ResultError (the value does not pickle). An exception raised by fn is re-raised
    here with the child's traceback as its __cause__ (RemoteTraceback).
    """
    limits, kwargs = _split(kwargs)
    return _call_now(fn, args, kwargs, _policy(limits))


def _call_now(fn, args, kwargs, pol):
    """Spawn and wait. A Ctrl-C between the two would escape as a bare KeyboardInterrupt
    with the run still going (only the Job's close would kill it, without grace), so in the
    main thread SIGINT is blocked from before the spawn until the wait, which stops the
    run gracefully and raises Interrupted."""
    held = None
    if threading.current_thread() is threading.main_thread():
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        job = _spawn_call(fn, args, kwargs, pol)
    except BaseException:
        if held is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    with job:
        return job.value(held)


def limit(fn=None, /, **limits):
    """Decorator: ``@corral.limit(memory="256M", wall_time=5)`` makes each call run as
    corral.call(fn, ..., **limits). Works with every start method (the decorated
    function pickles by name; the child runs the undecorated one)."""
    pol = Policy(**{k: v for k, v in limits.items()})

    def decorate(f):
        import functools

        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            return _call_now(wrapper, args, kwargs, pol)

        wrapper.__corral_inner__ = f
        wrapper.policy = pol
        return wrapper

    if fn is not None:
        if limits or not callable(fn):
            raise TypeError("use @corral.limit or @corral.limit(**limits)")
        return decorate(fn)
    return decorate


class Client:
    """A connection to corrald (``corral.connect()``): the same run() and spawn(), and
    functions with the spawn start method, executed by the service as this user, for
    callers without a delegated cgroup of their own. A Client can be used from one
    thread at a time; close it (or use ``with``) when done (running jobs go on)."""

    def __init__(self, path=None):
        self._c = _corral.Client(path)

    def spawn(self, argv, **limits):
        pol = _policy(limits)
        argv = _argv(argv)
        return Job(self._c.spawn(pol._cpolicy(), argv), os.fsdecode(argv[0]) if argv else "?")

    def run(self, argv, **limits):
        with self.spawn(argv, **limits) as job:
            return job.wait()

    def spawn_call(self, fn, /, *args, **kwargs):
        limits, kwargs = _split(kwargs)
        pol = _policy(limits)
        if (pol.start_method or "spawn") != "spawn":
            raise ValueError("start_method=%r: through corrald functions run with start_method='spawn' "
                             "(a fresh interpreter run by the service)" % pol.start_method)
        if not callable(fn):
            raise TypeError("corral.call: %r is not callable" % (fn,))
        return _spawn_start(pol, fn, args, kwargs, _fn_name(fn) + "()", self._c.spawn)

    def call(self, fn, /, *args, **kwargs):
        with self.spawn_call(fn, *args, **kwargs) as job:
            return job.value()

    def close(self):
        self._c.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect(path=None):
    """Connect to corrald at path (default: $CORRAL_SOCKET, else /run/corral/corral.sock);
    ConnectionError names the socket when the daemon does not answer."""
    return Client(path)


def doctor(**limits):
    """Which backend runs would use here, and why each higher rung is not usable."""
    return _corral.doctor(_policy(limits)._cpolicy())


from ._aio import call_async, run_async  # noqa: E402
from ._executor import Executor  # noqa: E402
