"""What looking at 10,000 slow bodies every tick costs the event loop: a uvloop timer per
connection re-armed every tick (as each held body did), against one sweep over all of them in
slices per loop turn (as the slow lane does now). CPU from the process's own clock.

    .venv/bin/python bench/hostile/timer_cost.py [CONNECTIONS] [TICK] [SECONDS]
"""

from __future__ import annotations

import asyncio
import random
import sys
import time

import uvloop

SLICE = 128  # limits/slow_lane.py SWEEP_PER_TURN


class _Ticking:
    """A connection with a timer of its own, re-armed from when it was due."""

    __slots__ = ("looked", "loop", "tick", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, first: float, tick: float) -> None:
        self.loop, self.tick, self.looked = loop, tick, 0
        self.timer = loop.call_at(first, self.fire)

    def fire(self) -> None:
        fired = self.timer
        self.looked += 1
        self.timer = self.loop.call_at(fired.when() + self.tick, self.fire)


class _Swept:
    """A connection the sweep looks at: a couple of attribute reads, as `lane_tick` does."""

    __slots__ = ("looked", "phase", "received", "seen")

    def __init__(self) -> None:
        self.looked, self.phase, self.received, self.seen = 0, 1, 0, -1

    def lane_tick(self, now: float) -> None:
        if self.phase != 1:
            return
        if self.received != self.seen:
            self.seen = self.received
        self.looked += 1


async def _timers(count: int, tick: float, seconds: float) -> tuple[float, int]:
    loop = asyncio.get_running_loop()
    # Each first due a millisecond or more ahead: a shorter delay gets no timer from uvloop.
    phases = [0.001 + random.random() * tick for _ in range(count)]
    conns = [_Ticking(loop, loop.time() + phase, tick) for phase in phases]
    cpu = time.process_time()
    await asyncio.sleep(seconds)
    spent = time.process_time() - cpu
    for conn in conns:
        conn.timer.cancel()
    return spent, sum(c.looked for c in conns)


async def _sweep(count: int, tick: float, seconds: float) -> tuple[float, int]:
    loop = asyncio.get_running_loop()
    conns = [_Swept() for _ in range(count)]
    due: list[_Swept] = []

    def sweep() -> None:
        due[:] = conns
        part()

    def part() -> None:
        now = loop.time()
        for conn in due[-SLICE:]:
            conn.lane_tick(now)
        del due[-SLICE:]
        if due:
            loop.call_soon(part)
        else:
            loop.call_later(tick, sweep)

    loop.call_later(random.random() * tick, sweep)
    cpu = time.process_time()
    await asyncio.sleep(seconds)
    return time.process_time() - cpu, sum(c.looked for c in conns)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    tick = float(sys.argv[2]) if len(sys.argv) > 2 else 7.5
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 15.0
    for name, run in (("a timer each", _timers), ("one sweep", _sweep)):
        spent, looked = uvloop.run(run(count, tick, seconds))
        print(
            f"{name:13s} {count} connections, tick {tick} s, {seconds} s: looked at {looked}, "
            f"CPU {spent:.3f} s = {spent / seconds:.4f} of a core, "
            f"{spent / max(looked, 1) * 1e6:.1f} us each"
        )


if __name__ == "__main__":
    main()
