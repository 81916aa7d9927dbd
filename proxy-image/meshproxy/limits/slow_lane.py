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
The header, body and request timeouts are untouched. TLS connections are never held (their bytes
must go through the TLS transport).

Which connection is held, and when, is `server/protocol.py`'s; the lane's epoll set and its reads
are here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
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


class Held(Protocol):
    """A connection the lane holds."""

    @property
    def lane_held(self) -> bool:
        """Still the lane's to read: held, open, and not paused for another reason."""

    def lane_left(self) -> None:
        """The lane let it go (an end of stream, an error, or it was not the lane's to read):
        uvloop reads it again, unless something else keeps it paused."""

    def data_received(self, data: bytes) -> None: ...


class SlowLane:
    """One listener's held connections: an epoll set read a slice per loop turn."""

    __slots__ = ("_epoll", "_held", "_held_total", "_reads_total")

    def __init__(self, held_total: Child | None = None, reads_total: Child | None = None) -> None:
        self._epoll: select.epoll | None = None
        self._held: dict[int, Held] = {}
        self._held_total = held_total
        self._reads_total = reads_total

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


def _forget(epoll: select.epoll, fd: int) -> None:
    with contextlib.suppress(OSError):  # closed: the kernel dropped it from the set already
        epoll.unregister(fd)
