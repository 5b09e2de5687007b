# SPDX-License-Identifier: MIT
"""@corral.limit-decorated workloads, for the forkserver (which pickles the function by
name: the decorated one must be the module's own). Apart from workloads.py because they
import corral when imported: a spawn child that unpickles a plain workload must not load the
extension (in a sanitized build it could not, without the runtimes preloaded)."""

import os

import corral
import workloads

_FUNCTION_POLICY = os.path.join(os.environ.get("CR_POLICIES") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "policies"), "function")
_BACKEND = os.environ.get("CORRAL_TEST_BACKEND") or "auto"


def _limited(fn):
    return corral.limit(policy=_FUNCTION_POLICY, start_method="forkserver", backend=_BACKEND)(fn)


@_limited
def limited_parse(text):
    return text.split()


@_limited
def limited_connect():
    workloads.inet_connect()
