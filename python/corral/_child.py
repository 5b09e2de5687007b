# SPDX-License-Identifier: MIT
"""What runs in a function child, and the outcome it sends back.

Imported in children only, and by the spawn start method as a plain module (before the
corral package is importable there), so it imports nothing from corral at module level.

The outcome is one pickle: ("ok", value) | ("raised", exception pickle or None, type
name, message, traceback text) | ("unpicklable", message, traceback text) | ("no-call",
message, traceback text) when the payload itself could not be unpickled.
"""

import os
import pickle
import signal
import sys
import traceback

PROTOCOL = pickle.HIGHEST_PROTOCOL


def reset_signals():
    """A fresh interpreter's dispositions, whatever the caller installed (asyncio,
    uvicorn): no wakeup fd (its fd is closed here and the number may be reused),
    SIGINT -> KeyboardInterrupt, SIGPIPE and SIGXFSZ ignored, everything else default."""
    try:
        signal.set_wakeup_fd(-1)
    except (ValueError, OSError):
        pass
    fresh = {signal.SIGINT: signal.default_int_handler, signal.SIGPIPE: signal.SIG_IGN}
    if hasattr(signal, "SIGXFSZ"):
        fresh[signal.SIGXFSZ] = signal.SIG_IGN
    for s in signal.valid_signals():
        if s in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            want = fresh.get(s, signal.SIG_DFL)
            if s in fresh or signal.getsignal(s) not in (signal.SIG_DFL, None):
                signal.signal(s, want)
        except (OSError, ValueError, RuntimeError):
            pass


def stdin_devnull():
    # Like multiprocessing: the function does not read the caller's terminal.
    try:
        if sys.stdin is not None:
            sys.stdin.close()
        sys.stdin = open(os.devnull)
    except (OSError, ValueError):
        pass


def rebind_std():
    """Every fd but 0-2 is closed in the child: a sys.stdout/sys.stderr the caller had
    pointed elsewhere (pytest's capture, a log file) would fail with EBADF. Give such a
    stream back its fd 1 or 2, which is what the run captures (capture=True)."""
    for name, fd in (("stdout", 1), ("stderr", 2)):
        s = getattr(sys, name)
        try:
            ok = s is not None and s.fileno() == fd
        except Exception:
            ok = False
        if not ok:
            try:
                setattr(sys, name, open(fd, "w", buffering=1, errors="backslashreplace", closefd=False))
            except OSError:
                pass


def flush():
    for s in (sys.stdout, sys.stderr):
        try:
            if s is not None:
                s.flush()
        except Exception:
            pass


def _traceback_text(exc):
    head = "[corral function child, pid %d]\n" % os.getpid()
    try:
        return head + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:
        return head + "(traceback unavailable)\n"


def _safe_str(obj):
    try:
        return str(obj)
    except Exception:
        return "<unprintable %s>" % type(obj).__name__


def _name(fn):
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def raised(exc):
    try:
        blob = pickle.dumps(exc, PROTOCOL)
    except Exception:
        blob = None
    t = type(exc)
    return pickle.dumps(("raised", blob, "%s.%s" % (t.__module__, t.__qualname__), _safe_str(exc),
                         _traceback_text(exc)), PROTOCOL)


def run_payload(payload, pickled):
    """(exit code, outcome bytes) for one call."""
    try:
        fn, args, kwargs = pickle.loads(payload) if pickled else payload
        fn = getattr(fn, "__corral_inner__", fn)
    except BaseException as e:
        return 1, pickle.dumps(("no-call", "%s: %s" % (type(e).__name__, _safe_str(e)), _traceback_text(e)),
                               PROTOCOL)
    try:
        value = fn(*args, **kwargs)
    except BaseException as e:
        if e.__traceback__ is not None:
            e.__traceback__ = e.__traceback__.tb_next  # from fn's frame on, not ours
        return 1, raised(e)
    try:
        return 0, pickle.dumps(("ok", value), PROTOCOL)
    except BaseException as e:
        msg = "%s() returned a %s, which cannot be pickled: %s: %s" % (
            _name(fn), type(value).__qualname__, type(e).__name__, _safe_str(e))
        return 1, pickle.dumps(("unpicklable", msg, _traceback_text(e)), PROTOCOL)


def main(payload, pickled):
    """fork and forkserver children (called by _corral.c after PyOS_AfterFork_Child)."""
    reset_signals()
    stdin_devnull()
    rebind_std()
    code, blob = run_payload(payload, pickled)
    flush()
    from corral import _corral
    try:
        _corral.child_write(blob)
    except OverflowError:
        # libcorral reports it: the result says OutputMax was exceeded.
        return 1
    return code
