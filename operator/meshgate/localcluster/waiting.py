"""Polling a condition until a deadline: the only way the local control plane waits.

Never sleeps a fixed time hoping something is ready; every wait names the condition and the
deadline, and a timeout says which condition did not hold.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """The condition did not hold before the deadline."""


def wait_for(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    first_interval: float = 0.05,
    max_interval: float = 0.5,
) -> T:
    """Call `condition` until it returns something other than None/False; return that value.

    The interval grows from `first_interval` to `max_interval`: fast components are seen quickly
    and slow ones are not hammered. `condition` may raise to abort the wait (a process died).
    """
    deadline = time.monotonic() + timeout
    interval = first_interval
    while True:
        result = condition()
        if result is not None and result is not False:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(min(interval, remaining))
        interval = min(interval * 2, max_interval)
