"""A message body streaming from one producer to one sink, never held whole.

The producer (a parser callback) pushes chunks with `feed`, then `finish` or `fail`. Until a sink
is attached, chunks wait in a buffer; above `HIGH_WATER` bytes the producer's transport is paused,
so an unread body costs at most one high-water mark of memory. Once a sink is attached, chunks go
straight to it with no task or await per chunk; the sink pushes back through `pause`/`resume`.
Layers that must see the whole body (cache, JSON projection, replayable retries) call
`read_upto(limit)`, which buffers at most `limit` bytes and says whether that was all of it.

This module must never buffer more than the high-water mark for a consumer that has not asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from meshproxy.http.flow import BODY_BUFFER, PEER_SLOW, Producer

HIGH_WATER = 256 * 1024


class BodyError(Exception):
    """The body could not be delivered whole: the peer reset, a parse error, a limit."""


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...
    def end(self) -> None: ...
    def fail(self, exc: BaseException) -> None: ...


class Body:
    __slots__ = (
        "_chunks",
        "_on_abort",
        "_producer",
        "_sink",
        "_size",
        "_waiter",
        "complete",
        "error",
        "length",
        "received",
        "trailers",
    )

    def __init__(
        self,
        producer: Producer | None,
        length: int | None = None,
        on_abort: Callable[[], None] | None = None,
    ) -> None:
        self._producer = producer
        self._on_abort = on_abort  # stops the producer for good (closes its connection)
        self.length = length  # the declared Content-Length, None when chunked or close-delimited
        self._chunks: list[bytes] = []
        self._size = 0
        self._sink: Sink | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.complete = False
        self.error: BaseException | None = None
        self.received = 0
        # Fields after the body (HTTP/2 trailers, gRPC's status), set before `finish`.
        self.trailers: list[tuple[str, str]] | None = None

    @classmethod
    def of(cls, data: bytes) -> Body:
        body = cls(None, len(data))
        if data:
            body._chunks.append(data)
            body._size = len(data)
            body.received = len(data)
        body.complete = True
        return body

    # --- producer side --------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        self.received += len(data)
        sink = self._sink
        if sink is not None:
            sink.write(data)
            return
        self._chunks.append(data)
        self._size += len(data)
        if self._size > HIGH_WATER and self._producer is not None:
            self._producer.pause_reading(BODY_BUFFER)
        self._wake()

    def finish(self) -> None:
        self.complete = True
        if self._producer is not None:
            self._producer.resume_reading(BODY_BUFFER | PEER_SLOW)
            self._producer = None
        if self._sink is not None:
            self._sink.end()
        self._wake()

    def fail(self, exc: BaseException) -> None:
        if self.complete or self.error is not None:
            return
        self.error = exc
        self._producer = None
        if self._sink is not None:
            self._sink.fail(exc)
        self._wake()

    # --- consumer side --------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.complete or self.error is not None

    def buffered(self) -> bytes:
        """Everything buffered so far (the whole body once `complete`)."""
        if len(self._chunks) == 1:
            return self._chunks[0]
        data = b"".join(self._chunks)
        self._chunks = [data] if data else []
        return data

    def attach(self, sink: Sink) -> None:
        """Send what is buffered, then every later chunk, to `sink`."""
        chunks, self._chunks, self._size = self._chunks, [], 0
        for chunk in chunks:
            sink.write(chunk)
        if self.complete:
            sink.end()
        elif self.error is not None:
            sink.fail(self.error)
        else:
            self._sink = sink
            if self._producer is not None:
                self._producer.resume_reading(BODY_BUFFER)

    def pause(self) -> None:
        """The sink cannot take more: stop reading from the producer."""
        if self._producer is not None:
            self._producer.pause_reading(PEER_SLOW)

    def resume(self) -> None:
        if self._producer is not None:
            self._producer.resume_reading(PEER_SLOW)

    async def read_upto(self, limit: int) -> bool:
        """Buffer the body up to `limit` bytes; True when the whole body is now buffered.

        On False the data read stays buffered and can still be attached to a sink.
        Raises BodyError when the producer failed.
        """
        if self.length is not None and self.length > limit:
            return False
        while not self.complete:
            if self.error is not None:
                raise BodyError(str(self.error))
            if self._size > limit:
                return False
            if self._producer is not None:
                # The caller asked for up to `limit` bytes: keep reading past the high-water mark.
                self._producer.resume_reading(BODY_BUFFER)
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._size <= limit

    def discard(self) -> None:
        """Nobody will read this body: drop what is buffered and what arrives later."""
        self._chunks = []
        self._size = 0
        if not self.done:
            self._sink = _DROP
            if self._producer is not None:
                self._producer.resume_reading(BODY_BUFFER | PEER_SLOW)

    def cancel(self) -> None:
        """Nobody will read the rest: drop it, and stop the producer if it has not finished."""
        self._chunks = []
        self._size = 0
        if self.done:
            return
        self.fail(BodyError("body cancelled"))
        on_abort, self._on_abort = self._on_abort, None
        if on_abort is not None:
            on_abort()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Drop:
    def write(self, data: bytes) -> None:
        pass

    def end(self) -> None:
        pass

    def fail(self, exc: BaseException) -> None:
        pass


_DROP = _Drop()
