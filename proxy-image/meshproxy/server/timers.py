"""A connection's one timer: when it fires, and when a repeating tick fires next.

uvloop's `call_at` hands a delay under half a millisecond (its clock's resolution) to
`call_soon` and returns a plain Handle, which has no `when()`: a lazy timer re-armed just
before its deadline is one. Whatever reads when a timer fires goes through `fires_at`.

Ticks that fire in one loop turn, the loop running late, read the same `loop.time()` to within
microseconds. Re-armed from it (`now + tick`) they stay in step for good, and each late turn
that fires several joins them: thousands of slow clients end up looked at in one turn, a stall
of milliseconds for everyone else (bench/hostile/REPORT.md). Re-armed from when it was due
(`next_tick`), each keeps the phase its connection's traffic gave it.
"""

from __future__ import annotations

import asyncio


def fires_at(timer: asyncio.TimerHandle) -> float:
    """When an armed timer fires; 0.0 (before any deadline) for uvloop's plain Handle, which
    runs on the next loop turn."""
    try:
        return timer.when()
    except AttributeError:
        return 0.0


def next_tick(due: float | None, now: float, tick: float) -> float:
    """The next firing of a tick that was due at `due` (None: not armed) and runs at `now`; one
    that fell a whole tick behind (a stalled loop) restarts from `now`."""
    when = (now if due is None else due) + tick
    return when if when > now else now + tick
