# SPDX-License-Identifier: MIT
"""The result of a run and the exceptions a function run raises by status."""

import json
import signal as _signal

__all__ = [
    "Result", "CorralError", "LimitExceeded", "MemoryLimit", "CpuTimeout", "WallTimeout",
    "Signaled", "SyscallDenied", "Exited", "Interrupted", "SpawnError", "InternalError", "ResultError",
    "RemoteTraceback", "RemoteError",
]

# Keys of the JSON result (SPEC "Result") that become attributes as they are.
_FIELDS = (
    "status", "exit_code", "signal", "wall_time_s", "cpu_time_s", "user_time_s",
    "system_time_s", "memory_peak_bytes", "oom_kills", "pids_peak", "pids_limit_hits",
    "backend", "precise", "error", "enforcement", "evidence", "stdout_truncated",
    "stderr_truncated", "output_bytes", "crash_report",
)


class Result:
    """Every field of libcorral's JSON result, as attributes.

    ``json`` is the object exactly as ``corral run --json`` prints it; ``stdout`` and
    ``stderr`` are the captured bytes (``capture=True``), not the JSON's lossy text, or
    None without capture; ``exit_status`` is the exit code ``corral run`` would use.
    """

    __slots__ = _FIELDS + ("json", "stdout", "stderr", "exit_status", "_output")

    def __init__(self, raw):
        text, stdout, stderr, output, crash, exit_status = raw
        self.json = json.loads(text)
        for k in _FIELDS:
            setattr(self, k, self.json.get(k))
        self.crash_report = crash
        self.stdout = stdout
        self.stderr = stderr
        self.exit_status = exit_status
        self._output = output

    def __getattr__(self, name):
        # keys libcorral adds later (syscall_denied, placement, ...) without a release here
        try:
            return object.__getattribute__(self, "json")[name]
        except (KeyError, AttributeError):
            raise AttributeError("Result has no field %r" % name) from None

    @property
    def ok(self):
        return self.status == "ok"

    @property
    def signal_name(self):
        if not self.signal:
            return None
        try:
            return _signal.Signals(self.signal).name
        except ValueError:
            return "SIG%d" % self.signal

    def __repr__(self):
        parts = ["status=%r" % self.status]
        if self.exit_code is not None:
            parts.append("exit_code=%r" % self.exit_code)
        if self.signal:
            parts.append("signal=%s" % self.signal_name)
        parts.append("wall_time_s=%.3f" % self.wall_time_s)
        parts.append("cpu_time_s=%.3f" % self.cpu_time_s)
        parts.append("memory_peak_bytes=%d" % self.memory_peak_bytes)
        parts.append("backend=%r" % self.backend)
        if self.error:
            parts.append("error=%r" % self.error)
        return "Result(%s)" % ", ".join(parts)


class CorralError(Exception):
    """A run did not deliver a value. ``result`` is its Result (None if there was no run)."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result

    def __reduce__(self):
        return (self.__class__, (str(self), None))


class LimitExceeded(CorralError):
    """A limit of the policy stopped the run."""


class MemoryLimit(LimitExceeded, MemoryError):
    """status memory_limit (the kernel's OOM kill in the run's cgroup, or the fallback's
    verdict), or a MemoryError the function raised under a memory rlimit (``inferred``)."""

    inferred = False


class CpuTimeout(LimitExceeded, TimeoutError):
    """status cpu_timeout: CPUTimeMaxSec of the whole tree was used up."""


class WallTimeout(LimitExceeded, TimeoutError):
    """status wall_timeout: RuntimeMaxSec passed."""


class Signaled(CorralError):
    """status signaled: the function's process died of ``signal``; ``crash_report`` holds
    libcorral's report (fault address, backtrace) for SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT."""

    @property
    def signal(self):
        return self.result.signal if self.result else None

    @property
    def crash_report(self):
        return self.result.crash_report if self.result else None


class SyscallDenied(CorralError):
    """status syscall_denied: the syscall filter (SystemCallFilter=) killed the run;
    ``result.evidence["syscall_denied"]`` names the call."""


class Exited(CorralError):
    """The function's process exited (``os._exit``) without returning a value."""


class SpawnError(CorralError):
    """status spawn_error: the run could not start (or could not be honoured here)."""


class InternalError(CorralError):
    """status internal_error: corral could not tell how the run ended, or its result
    could not be delivered (OutputMax exceeded)."""


class ResultError(CorralError, TypeError):
    """The function returned, but its value cannot be pickled back."""


class Interrupted(KeyboardInterrupt):
    """status interrupted: the run was stopped on request (Ctrl-C in the caller, or
    Job.interrupt()). A KeyboardInterrupt, raised only once the run's processes are gone."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result

    def __reduce__(self):
        return (self.__class__, (str(self), None))


class RemoteTraceback(Exception):
    """The ``__cause__`` of an exception re-raised from a function child: its traceback."""

    def __init__(self, tb):
        super().__init__(tb)
        self.tb = tb

    def __str__(self):
        return self.tb


class RemoteError(CorralError):
    """The function raised an exception that could not come back as itself
    (it, or its class, does not pickle). ``type_name``, ``message``, ``traceback``."""

    def __init__(self, message, result=None, type_name=None, traceback=None):
        super().__init__(message, result)
        self.type_name = type_name
        self.traceback = traceback
