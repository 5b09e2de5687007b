#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Per-call cost of a no-op function: corral.call against multiprocessing.

    PYTHONPATH=build/python python3 bench/python/call.py [--rounds N] [--backend B] [--out FILE]

For each start method (fork, forkserver, spawn) the same process alternates one
corral.call(noop, start_method=m) with one multiprocessing Process(target=noop) of the
same start method, start() + join() (the mechanism pynisher, wrapt_timeout_decorator and
mpservice use), so both see the same load; for fork also a bare os.fork() + os._exit(0) +
waitpid(), the floor any fork-based call pays (its ratio to multiprocessing says how far
below multiprocessing a fork can go at all). Prints a markdown table of medians, p90 and
the ratio corral / multiprocessing, with the goals (<= 0.5 fork and forkserver, <= 1
spawn), and writes it to --out. Run it from a script (as here): spawn children of both
re-import the main module, as multiprocessing does.
"""

import argparse
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time

import corral

GOALS = {"fork": 0.5, "forkserver": 0.5, "spawn": 1.0}


def noop():
    pass


def quantile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def measure(method, rounds, backend):
    ctx = multiprocessing.get_context(method)
    kw = {"start_method": method}
    if backend:
        kw["backend"] = backend
    for _ in range(3):  # warm up: forkserver helpers, imports, page cache
        corral.call(noop, **kw)
        p = ctx.Process(target=noop)
        p.start()
        p.join()
    c, m, f = [], [], []
    for _ in range(rounds):
        if method == "fork":
            # the floor: a bare os.fork() + os._exit() + waitpid of this same interpreter
            t = time.perf_counter()
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
            f.append(time.perf_counter() - t)
        t = time.perf_counter()
        corral.call(noop, **kw)
        c.append(time.perf_counter() - t)
        t = time.perf_counter()
        p = ctx.Process(target=noop)
        p.start()
        p.join()
        m.append(time.perf_counter() - t)
        assert p.exitcode == 0
    return c, m, f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200, help="calls per method (spawn: a fifth)")
    ap.add_argument("--backend", default="", help="corral backend (default: auto)")
    ap.add_argument("--out", default="", help="also write the table here")
    a = ap.parse_args()

    corral.forkserver_start()
    backend = a.backend or corral.doctor()["backend"]
    rows = []
    for method in ("fork", "forkserver", "spawn"):
        n = a.rounds if method != "spawn" else max(10, a.rounds // 5)
        c, m, f = measure(method, n, a.backend)
        cm, mm = statistics.median(c), statistics.median(m)
        ratio = cm / mm
        floor = "%.2f (%.2f)" % (statistics.median(f) * 1e3, statistics.median(f) / mm) if f else "-"
        rows.append("| %s | %d | %.2f | %.2f | %.2f | %.2f | %s | **%.2f** | <= %.1f | %s |" % (
            method, n, cm * 1e3, quantile(c, 0.9) * 1e3, mm * 1e3, quantile(m, 0.9) * 1e3, floor, ratio,
            GOALS[method], "met" if ratio <= GOALS[method] else "missed"))
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except OSError:
        commit = "?"
    head = [
        "## corral.call vs multiprocessing (no-op function, per call)",
        "",
        "%s, Python %s, kernel %s, %d CPUs, load %.2f at the start; backend %s; commit %s" % (
            platform.node(), platform.python_version(), platform.release(), os.cpu_count(),
            os.getloadavg()[0], backend, commit),
        "",
        "| start method | calls | corral median ms | corral p90 ms | multiprocessing median ms "
        "| multiprocessing p90 ms | bare os.fork+waitpid ms (ratio) | ratio | goal | |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    table = "\n".join(head + rows) + "\n"
    print(table)
    if a.out:
        with open(a.out, "a") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
