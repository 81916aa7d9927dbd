"""A client sending its request slowly is read on the proxy's schedule, not on the client's.

Every read costs the event loop the same whatever it carries: about 5.5 us on uvloop (epoll, the
kernel's read, the callback; bench/hostile/header_line_cost.py `--floor`) before the HTTP parser
sees a byte. A slowloris attacker holding thousands of connections sends each one's next header
line at once, so one burst of its lines is thousands of reads in a row that a well-behaved
request arriving then queues behind (10,000 lines: ~80 ms of loop work).

So a plain-TCP connection whose request (its head, or a short body the proxy waits for before
the stack) is still incomplete `SLOW_AFTER` after a read left it so is held: uvloop stops reading
it, and its socket goes to the listener's `SlowLane`, an epoll set of its own that the event loop
watches as one reader. Each time that set is ready, the lane reads at most `PER_TURN` of its
ready sockets (one non-blocking `read` each, what uvloop would have done) and hands the bytes to
the connection's `data_received`; the rest wait for the next loop turn, after every other ready
connection had its own. So a burst of 10,000 lines is read 16 at a time between the other
connections' reads, and a well-behaved request waits behind at most one such slice. A held
connection that sends nothing costs nothing (no timer, no poll of its own); its first bytes after
it was held wake uvloop's epoll once more, which then drops the socket from its set (libuv stops
watching lazily: ~2 us each, once per held connection). A request completing
hands its connection back to uvloop; an end of stream or an error does too, for uvloop to close.
The header timeout is untouched (each connection's own lazy timer). The body and request
timeouts of a request still arriving are looked at every tick (`ListenerLimits.tick`): while the
lane holds the connection, by the lane's sweep, `SWEEP_PER_TURN` held connections per loop turn,
instead of a timer per connection (`bench/hostile/timer_cost.py`: 10,000 connections each on a
uvloop timer re-armed every 7.5 s cost 32-38 us per look, 0.04-0.05 of a core; a sweep's look
0.2 us). TLS connections are never held (their bytes must go through the TLS transport).

Which connection is held, and when, is `server/protocol.py`'s; the lane's epoll set and its reads
are here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
from collections.abc import Callable
from typing import Protocol

from meshproxy.observability.metrics import Child

# Incomplete for this long after a read: held.
SLOW_AFTER = 1.0
# Held sockets read per loop turn, at most: ~0.1 ms of loop work (a slowloris line costs ~7 us).
# A well-behaved request takes a few turns (its read, the upstream's write and read, its answer),
# each of which may carry one slice.
PER_TURN = 16
# At most this much is read from a held socket per turn (what is left keeps it ready).
READ_BYTES = 16 * 1024
# Held connections whose receive deadlines the sweep looks at per loop turn: a slice of loop
# work no longer than the reads' (a look is a few attribute reads and compares).
SWEEP_PER_TURN = 128


class Held(Protocol):
    """A connection the lane holds."""

    @property
    def lane_held(self) -> bool:
        """Still the lane's to read: held, open, and not paused for another reason."""

    def lane_left(self) -> None:
        """The lane let it go (an end of stream, an error, or it was not the lane's to read):
        uvloop reads it again, unless something else keeps it paused."""

    def data_received(self, data: bytes) -> None: ...

    def lane_tick(self, now: float) -> None:
        """The sweep, every tick: look at the receive deadlines (a held connection keeps no
        timer of its own for them)."""


class SlowLane:
    """One listener's held connections: an epoll set read a slice per loop turn, and their
    receive deadlines swept every tick, a slice per loop turn."""

    __slots__ = (
        "_due",
        "_epoll",
        "_every",
        "_held",
        "_held_total",
        "_reads_total",
        "_sweep_timer",
    )

    def __init__(
        self,
        held_total: Child | None = None,
        reads_total: Child | None = None,
        every: Callable[[], float] | None = None,
    ) -> None:
        self._epoll: select.epoll | None = None
        self._held: dict[int, Held] = {}
        self._held_total = held_total
        self._reads_total = reads_total
        self._every = every  # the tick, read at each sweep (a reload may change it); None: none
        self._sweep_timer: asyncio.TimerHandle | None = None
        # The descriptors the sweep under way has still to look at: ints, so the collector has
        # nothing to walk while a sweep of thousands spans loop turns.
        self._due: list[int] = []

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, conn: Held, fd: int) -> None:
        """Read `conn`'s socket `fd` from now on (its transport has stopped reading it)."""
        epoll = self._epoll
        if epoll is None:
            epoll = self._epoll = select.epoll()
            asyncio.get_running_loop().add_reader(epoll.fileno(), self._ready)
        self._held[fd] = conn
        if self._held_total is not None:
            self._held_total.inc()
        try:
            epoll.register(fd, select.EPOLLIN)
        except FileExistsError:
            epoll.modify(fd, select.EPOLLIN)
        if self._sweep_timer is None and not self._due:
            self._arm_sweep()

    def release(self, conn: Held, fd: int) -> None:
        """Stop reading `fd` for `conn` (complete or closed); a newer holder of the number stays."""
        if self._held.get(fd) is conn:
            del self._held[fd]
            if self._epoll is not None:
                _forget(self._epoll, fd)

    def _ready(self) -> None:
        epoll = self._epoll
        if epoll is None:
            return
        held = self._held
        for fd, _ in epoll.poll(0, PER_TURN):
            conn = held.get(fd)
            if conn is None:  # released meanwhile: only the registration is left
                _forget(epoll, fd)
                continue
            if not conn.lane_held:
                self.release(conn, fd)
                conn.lane_left()
                continue
            try:
                data = os.read(fd, READ_BYTES)
            except BlockingIOError:
                continue
            except OSError:
                data = b""  # an error: uvloop's to see, and close
            if data:
                if self._reads_total is not None:
                    self._reads_total.inc()
                conn.data_received(data)
            else:  # an end of stream: uvloop reads it and closes
                self.release(conn, fd)
                conn.lane_left()

    def _arm_sweep(self) -> None:
        if self._every is None:
            return
        loop = asyncio.get_running_loop()
        self._sweep_timer = loop.call_at(loop.time() + self._every(), self._sweep)

    def _sweep(self) -> None:
        self._sweep_timer = None
        if self._held:  # else the next connection held arms it again
            self._due = list(self._held)
            self._sweep_slice()

    def _sweep_slice(self) -> None:
        due = self._due
        batch = due[-SWEEP_PER_TURN:]
        del due[-SWEEP_PER_TURN:]
        loop = asyncio.get_running_loop()
        now = loop.time()
        held = self._held
        for fd in batch:
            conn = held.get(fd)
            if conn is not None:  # still held (released ones tick on their own again)
                conn.lane_tick(now)
        if due:
            loop.call_soon(self._sweep_slice)  # the rest on later turns, between other work
        elif held:
            self._arm_sweep()


def _forget(epoll: select.epoll, fd: int) -> None:
    with contextlib.suppress(OSError):  # closed: the kernel dropped it from the set already
        epoll.unregister(fd)
