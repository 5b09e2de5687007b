# SPDX-License-Identifier: MIT
"""The spawn start method's child: a fresh interpreter run as a corral command.

    python3 .../corral/_spawnmain.py DIR

DIR (private to the caller, 0700) holds `in`: a pickle of (multiprocessing preparation
data, call pickle). The interpreter takes the caller's sys.path, working directory and
main module (re-run as __mp_main__, as multiprocessing's spawn does), unpickles and
runs the call, and leaves the outcome in DIR/out.
"""

import os
import pickle
import sys


def main():
    d = sys.argv[1]
    import _child  # beside this file: sys.path[0] until prepare() replaces sys.path

    _child.stdin_devnull()
    # A crash (SIGSEGV in an extension) leaves the Python traceback for the caller.
    import faulthandler

    crash = open(os.path.join(d, "crash"), "w")
    faulthandler.enable(crash)
    with open(os.path.join(d, "in"), "rb") as f:
        prep, payload = pickle.load(f)
    try:
        import multiprocessing.spawn

        multiprocessing.spawn.prepare(prep)
    except BaseException as e:
        code, blob = 1, pickle.dumps(("no-call", "preparing the spawned interpreter: %s: %s" % (
            type(e).__name__, e), _child._traceback_text(e)), _child.PROTOCOL)
    else:
        code, blob = _child.run_payload(payload, True)
    _child.flush()
    tmp = os.path.join(d, "out.tmp")
    with open(tmp, "wb") as f:
        f.write(blob)
    os.rename(tmp, os.path.join(d, "out"))
    os._exit(code)


if __name__ == "__main__":
    main()
