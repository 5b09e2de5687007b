# SPDX-License-Identifier: MIT
"""Functions the pytest suite runs in corral children. A module of their own (on
sys.path before the forkserver starts, see conftest.py), so that every start method
can find them by name."""

import ctypes
import os
import signal
import subprocess
import sys
import time

MiB = 1 << 20


def noop():
    pass


def add(a, b=0):
    return a + b


def getpid():
    return os.getpid()


def alloc(nbytes):
    """pynisher's memory workload: bytearray writes every page (RSS grows by nbytes)."""
    b = bytearray(nbytes)
    return len(b)


def busy(seconds=None):
    """A CPU busy loop, forever or for `seconds` of CPU time."""
    end = None if seconds is None else time.process_time() + seconds
    x = 0
    while end is None or time.process_time() < end:
        x += 1
    return x


def sleep(seconds):
    time.sleep(seconds)
    return seconds


class CustomError(Exception):
    pass


class TwoArgError(Exception):
    """Needs two arguments: unpickling calls it with one (pynisher turns it into TypeError)."""

    def __init__(self, a, b):
        super().__init__("%s/%s" % (a, b))


def raise_custom(msg):
    raise CustomError(msg)


def raise_two_args():
    raise TwoArgError("left", "right")


def raise_local_class():
    class Local(Exception):
        pass
    raise Local("cannot come back as itself")


def nested_raise():
    def inner_most():
        raise ValueError("deep down")
    inner_most()


def return_unpicklable():
    return (x for x in range(3))  # a generator (wrapt_timeout_decorator's case)


def big_result(n):
    return b"x" * n


def self_sigkill():
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(5)


def segfault():
    ctypes.string_at(0)


def exit_hard(code):
    os._exit(code)


def sigterm_graceful(marker, grace_work=0.05):
    """wrapt_timeout_decorator's case: a SIGTERM handler that cleans up, then exits."""
    def on_term(signo, frame):
        time.sleep(grace_work)
        with open(marker, "w") as f:
            f.write("cleaned up after SIGTERM\n")
        sys.exit(0)
    signal.signal(signal.SIGTERM, on_term)
    with open(marker + ".armed", "w"):
        pass
    time.sleep(60)


def dispositions():
    """What the child got: Python-level handlers, the wakeup fd, the kernel's masks."""
    out = {"wakeup_fd": signal.set_wakeup_fd(-1)}
    for name in ("SIGINT", "SIGTERM", "SIGUSR1", "SIGHUP", "SIGCHLD"):
        h = signal.getsignal(getattr(signal, name))
        out[name] = "default" if h is signal.SIG_DFL else "ignore" if h is signal.SIG_IGN else \
            "python-default" if h is signal.default_int_handler else "custom"
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("SigCgt:", "SigIgn:", "SigBlk:")):
                k, v = line.split(":")
                out[k] = int(v.strip(), 16)
    out["sid"] = os.getsid(0)
    out["pid"] = os.getpid()
    return out


def tree_alloc(children, each, hold):
    """A function that starts children: each touches `each` bytes and holds them."""
    code = "import time; b = bytearray(%d); time.sleep(%r)" % (each, hold)
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(children)]
    for p in procs:
        p.wait()
    return [p.returncode for p in procs]


def fork_many(n, hold):
    """pynisher 0.6's num_processes case: start n processes; the task limit refuses some."""
    pids = []
    try:
        for _ in range(n):
            pid = os.fork()
            if pid == 0:
                time.sleep(hold)
                os._exit(0)
            pids.append(pid)
    finally:
        for pid in pids:
            os.waitpid(pid, 0)
    return len(pids)


def write_pid_and_sleep(path, seconds):
    """For the Ctrl-C test: leaves its pid and what signals it saw in `path`."""
    def note(signo, frame):
        with open(path, "a") as f:
            f.write("signal %d\n" % signo)
        if signo == signal.SIGTERM:
            sys.exit(0)
    signal.signal(signal.SIGINT, note)
    signal.signal(signal.SIGTERM, note)
    with open(path, "a") as f:
        f.write("pid %d\n" % os.getpid())
    time.sleep(seconds)


def print_and_return(text):
    print(text)
    sys.stdout.flush()
    os.write(2, b"to fd 2\n")
    return len(text)


# ---- hostile functions for the isolation tests (test_isolation.py) ----

def parse(text):
    """A stranger's parser: allocates, builds a nested value (pickled back)."""
    return {"words": text.split(), "lengths": [len(w) for w in text.split()], "blob": b"x" * 100000}


def inet_connect():
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.connect(("192.0.2.1", 80))  # TEST-NET-1: never reachable
    finally:
        s.close()


def ptrace_traceme():
    return ctypes.CDLL(None, use_errno=True).ptrace(0, 0, None, None)  # PTRACE_TRACEME


def unshare_user():
    return ctypes.CDLL(None, use_errno=True).unshare(0x10000000)  # CLONE_NEWUSER


def kill_all_probe():
    os.kill(-1, 0)  # signal 0: asks only, harmless where nothing stops it
    return "allowed"


def write_usr():
    with open("/usr/corral-py-test-%d" % os.getpid(), "w") as f:
        f.write("x")


def leave_tmp():
    before = os.listdir("/tmp")
    path = "/tmp/corral-py-left-%d" % os.getpid()
    with open(path, "w") as f:
        f.write("left")
    return path, before


def links():
    import socket
    return sorted(name for _, name in socket.if_nameindex())


def segv():
    ctypes.string_at(16)


def abort():
    os.abort()


def getuid():
    return os.getuid()
