# SPDX-License-Identifier: MIT
"""mpservice's remote traceback: the child's exception re-raised in the caller as
itself, with the child's traceback as __cause__."""

import pytest

import corral
import workloads


def test_remote_traceback_is_the_cause(limits, start_method):
    with pytest.raises(ValueError, match="deep down") as e:
        corral.call(workloads.nested_raise, start_method=start_method, **limits)
    cause = e.value.__cause__
    assert isinstance(cause, corral.RemoteTraceback)
    text = str(cause)
    # the child's frames, innermost last, with the function names and the message
    assert "in nested_raise" in text and "in inner_most" in text
    assert text.rstrip().endswith("ValueError: deep down")
    assert "[corral function child, pid" in text
    assert e.value.corral_result.status == "exited"


def test_exception_needing_two_arguments_arrives_as_remoteerror(limits, start_method):
    """pynisher turns this into a TypeError; corral says what was raised."""
    with pytest.raises(corral.RemoteError) as e:
        corral.call(workloads.raise_two_args, start_method=start_method, **limits)
    assert e.value.type_name == "workloads.TwoArgError"
    assert "left/right" in str(e.value)
    assert "TwoArgError: left/right" in e.value.traceback
    assert isinstance(e.value.__cause__, corral.RemoteTraceback)


def test_unpicklable_exception_class(limits):
    with pytest.raises(corral.RemoteError, match="cannot come back as itself") as e:
        corral.call(workloads.raise_local_class, **limits)
    assert "Local" in e.value.type_name


def test_system_exit_comes_back(limits):
    with pytest.raises(SystemExit) as e:
        corral.call(_exit_3, **limits)
    assert e.value.code == 3


def _exit_3():
    raise SystemExit(3)


def test_os_exit_without_value(limits, start_method):
    with pytest.raises(corral.Exited) as e:
        corral.call(workloads.exit_hard, 4, start_method=start_method, **limits)
    assert e.value.result.exit_code == 4
