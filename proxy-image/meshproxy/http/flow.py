"""Explicit flow control for one transport: why reading is paused, and waiting for writes to drain.

Several independent reasons can pause reading a socket (a body buffer over its high-water mark,
too many pipelined requests queued, the other side of a stream not keeping up). Each is a bit;
the transport is paused while any bit is set and resumed only when the last one clears, so one
reason can never resume what another still needs paused.

This module must never read or write data itself; it only flips the transport's reading state.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

# Reasons to pause reading, one bit each.
BODY_BUFFER = 1  # a body's unconsumed buffer is over its high-water mark
PIPELINE = 2  # too many requests parsed but not yet answered
PEER_SLOW = 4  # the transport this data is copied to cannot take more
SHUTDOWN = 8  # the connection is closing; nothing more is read


class Producer(Protocol):
    """Whoever feeds a `Body`: a transport's reading (HTTP/1), or an HTTP/2 stream's window."""

    def pause_reading(self, reason: int) -> None: ...

    def resume_reading(self, reason: int) -> None: ...


class FlowControl:
    __slots__ = ("_drain_waiters", "_paused", "_transport", "_writable_callbacks", "write_paused")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._paused = 0
        self.write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._writable_callbacks: list[Callable[[], None]] = []

    @property
    def read_paused(self) -> bool:
        return self._paused != 0

    def pause_reading(self, reason: int) -> None:
        if not self._paused:
            try:
                self._transport.pause_reading()
            except RuntimeError:
                return  # the transport is closing: nothing to pause
        self._paused |= reason

    def resume_reading(self, reason: int) -> None:
        if not self._paused & reason:
            return
        self._paused &= ~reason
        if not self._paused:
            with contextlib.suppress(RuntimeError):  # the transport is already closing
                self._transport.resume_reading()

    # Called by the protocol's pause_writing / resume_writing.
    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        callbacks, self._writable_callbacks = self._writable_callbacks, []
        for callback in callbacks:
            callback()

    def when_writable(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the transport's write buffer has drained below its low mark."""
        if self.write_paused:
            self._writable_callbacks.append(callback)
        else:
            callback()

    async def drain(self) -> None:
        if not self.write_paused:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._drain_waiters.append(waiter)
        await waiter

    def connection_lost(self) -> None:
        """Release every waiter: nothing will drain a closed transport."""
        self.resume_writing()
