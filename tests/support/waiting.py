"""The one way the tests wait for something to happen: poll a condition until it holds,
and fail the test (not hang it) when it does not within a deadline.

A short `interval` between polls is polling, not a fixed sleep: the wait ends as soon as
the condition is seen, and only the deadline bounds it."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float = 15.0,
    interval: float = 0.1,
    what: str | Callable[[], str] = "condition",
) -> T:
    """Call `predicate()` every `interval` seconds until it returns something truthy, and
    return that value; fail the test after `timeout` seconds.

    `what` names the condition in the failure message; a callable is called only then
    (e.g. to attach the tail of a server's log). An exception raised by `predicate`
    (a process that died, an assertion) ends the wait at once and propagates."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            pytest.fail(f"timed out after {timeout:g} s waiting for {described}")
        time.sleep(interval)


__all__ = ["wait_until"]
