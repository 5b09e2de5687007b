# SPDX-License-Identifier: MIT
"""corral.connect(): runs through corrald, the service, for callers without a cgroup of
their own: commands, and functions with the spawn start method, as the caller's user.

The fixture starts a private corrald (root) in a delegated cgroup of its own, the way
tests/vm/suite/service.sh does, with a socket every user may connect to."""

import ctypes
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

import corral
import workloads
from conftest import IN_VM, SLOW, STARTUP, python_argv, python_env

UNPRIVILEGED = 1000 if IN_VM else 65534


def corrald_path():
    cli = os.environ.get("CORRAL") or os.path.join(os.path.dirname(corral.__file__), "..", "..", "src", "cli",
                                                   "corral")
    for c in (os.environ.get("CORRALD"), os.path.join(os.path.dirname(cli), "corrald"),
              os.path.join(os.path.dirname(cli), "..", "daemon", "corrald")):
        if c and os.access(c, os.X_OK):
            return c
    return None


def cgroup_base():
    with open("/proc/self/cgroup") as f:
        path = next(line.split(":", 2)[2].strip() for line in f if line.startswith("0::"))
    mnt = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[fields.index("-") + 1] == "cgroup2":
                mnt = fields[4]
    if mnt is None:
        return None
    base = os.path.join(mnt, path.lstrip("/"))
    return os.path.dirname(base) if os.path.basename(base) == "supervisor" else base


PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def dies_with_pytest():
    """A preexec_fn: the child gets SIGTERM (corrald's stop: it ends its runs and exits)
    when pytest dies, however it dies (meson's timeout, Ctrl-C, kill -9), instead of
    living on as an orphan. If pytest died before the prctl, the child goes at once."""
    parent = os.getpid()

    def preexec():
        if _prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0 or os.getppid() != parent:
            os._exit(1)
    return preexec


def remove_stale_groups(base):
    """The groups of killed pytests (no teardown ran; their corrald stopped, see above):
    the pytest is gone and nothing is left in its supervisor group."""
    for name in os.listdir(base):
        pid = name[len("pytest-svc-"):]
        if not name.startswith("pytest-svc-") or not pid.isdigit() or os.path.exists("/proc/" + pid):
            continue
        try:
            with open(os.path.join(base, name, "supervisor", "cgroup.procs")) as f:
                if f.read().strip():
                    continue
        except FileNotFoundError:
            pass
        for root, dirs, _ in os.walk(os.path.join(base, name), topdown=False):
            for sub in dirs:
                try:
                    os.rmdir(os.path.join(root, sub))
                except OSError:
                    pass
        try:
            os.rmdir(os.path.join(base, name))
        except OSError:
            pass


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    exe = corrald_path()
    if not exe:
        pytest.skip("corrald is not built (set CORRALD)")
    if os.getuid() != 0:
        pytest.skip("the fixture starts corrald as root; this is uid %d" % os.getuid())
    base = cgroup_base()
    if base:
        remove_stale_groups(base)
    cg = os.path.join(base, "pytest-svc-%d" % os.getpid()) if base else None
    try:
        os.mkdir(cg)
        os.mkdir(os.path.join(cg, "supervisor"))
    except (OSError, TypeError) as e:
        pytest.skip("cannot make a delegated cgroup for corrald under %s: %s" % (base, e))
    with open(os.path.join(cg, "cgroup.controllers")) as f:
        ctrl = [c for c in f.read().split() if c in ("memory", "pids", "cpu")]
    if ctrl:
        with open(os.path.join(cg, "cgroup.subtree_control"), "w") as f:
            f.write(" ".join("+" + c for c in ctrl))
    # Not under pytest's tmp (0700): every user must reach the socket.
    d = pathlib.Path(tempfile.mkdtemp(prefix="corral-pytest-svc-"))
    os.chmod(d, 0o755)
    sock = str(d / "corral.sock")
    conf = d / "corrald.conf"
    conf.write_text("[Daemon]\nConnections=50\n")
    log = open(d / "corrald.log", "w")
    # corrald sits in <cg>/supervisor, its runs next to it (systemd's Delegate= shape).
    p = subprocess.Popen(["sh", "-c", 'echo $$ > "$1/supervisor/cgroup.procs" && exec "$2" --listen "$3" '
                          '--config "$4" --socket-mode 0666', "sh", cg, exe, sock, str(conf)],
                         stdout=log, stderr=subprocess.STDOUT, preexec_fn=dies_with_pytest())
    deadline = time.monotonic() + 30 * SLOW
    while True:  # the socket exists from bind(), answers from listen()
        try:
            corral.connect(sock).close()
            break
        except ConnectionError:
            if p.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail("corrald did not start: %s" % (d / "corrald.log").read_text())
            time.sleep(0.05)
    yield sock
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=30 * SLOW)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    log.close()
    for sub in sorted((os.path.join(cg, x) for x in os.listdir(cg) if os.path.isdir(os.path.join(cg, x))),
                      reverse=True):
        try:
            os.rmdir(sub)
        except OSError:
            pass
    os.rmdir(cg)
    shutil.rmtree(d, ignore_errors=True)


def test_connect_runs_commands(service):
    with corral.connect(service) as c:
        r = c.run(["sh", "-c", "echo hello; exit 3"], memory="128M", capture=True)
        assert (r.status, r.exit_code, r.stdout) == ("exited", 3, b"hello\n")
        assert r.evidence["memory_max_bytes"] == 128 << 20
        r = c.run(["sleep", "30"], wall_time=0.3)
        assert r.status == "wall_timeout" and r.evidence["limit_hit"] == "RuntimeMaxSec"


def test_connect_functions_by_spawn(service):
    with corral.connect(service) as c:
        assert c.call(workloads.add, 40, 2, wall_time=60 * SLOW) == 42
        with pytest.raises(workloads.CustomError, match="pear") as e:
            c.call(workloads.raise_custom, "pear", wall_time=60 * SLOW)
        assert isinstance(e.value.__cause__, corral.RemoteTraceback)
        with pytest.raises(corral.WallTimeout):
            c.call(workloads.sleep, 30, wall_time=STARTUP)
        with pytest.raises(ValueError, match="spawn"):
            c.call(workloads.add, 1, start_method="fork")


def test_connect_as_an_unprivileged_user(service):
    """The daemon runs the command and the function as the caller, never as root."""
    script = textwrap.dedent("""
        import os, sys
        sys.path.insert(0, {here!r})
        import corral, workloads
        with corral.connect({sock!r}) as c:
            r = c.run(["id", "-u"], capture=True)
            print(r.status, r.stdout.decode().strip(), c.call(os.getuid, wall_time={wall!r}))
    """).format(here=os.path.dirname(os.path.abspath(__file__)), sock=service, wall=60 * SLOW)
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="corral-pytest-user-"))
    os.chown(tmp_path, UNPRIVILEGED, UNPRIVILEGED)
    env = python_env(PYTHONPATH=os.pathsep.join(p for p in sys.path if p), HOME=str(tmp_path),
                     TMPDIR=str(tmp_path))
    out = subprocess.run(python_argv(script), user=UNPRIVILEGED, group=UNPRIVILEGED, extra_groups=[],
                         cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=120 * SLOW)
    shutil.rmtree(tmp_path, ignore_errors=True)
    assert out.returncode == 0, out.stdout.decode()
    assert out.stdout.decode().split() == ["ok", str(UNPRIVILEGED), str(UNPRIVILEGED)]


def proc_gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):  # reaped before the open, or the read
        return True


def test_the_fixtures_daemon_dies_with_pytest():
    """kill -9 of the process that started a child through dies_with_pytest() (as the
    fixture starts corrald) ends the child: nothing of the suite outlives pytest."""
    script = textwrap.dedent("""
        import subprocess, sys
        sys.path.insert(0, {here!r})
        from test_service import dies_with_pytest
        p = subprocess.Popen(["sleep", "60"], preexec_fn=dies_with_pytest())
        print(p.pid, flush=True)
        sys.stdin.read()
    """).format(here=os.path.dirname(os.path.abspath(__file__)))
    parent = subprocess.Popen(python_argv(script), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              env=python_env(PYTHONPATH=os.pathsep.join(p for p in sys.path if p)))
    child = int(parent.stdout.readline())
    assert not proc_gone(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10 * SLOW
    while not proc_gone(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    gone = proc_gone(child)
    if not gone:
        os.kill(child, signal.SIGKILL)
    assert gone, "sleep %d outlived the process that started it" % child


def test_connect_to_nothing_names_the_socket(tmp_path):
    with pytest.raises(ConnectionError, match="nothing-here"):
        corral.connect(str(tmp_path / "nothing-here"))
