"""Flow control of one HTTP/2 stream, both ways, between an `h2` connection and a `Body`.

- `StreamReader` is the producer of a body received on a stream. Received bytes are given back
  to the peer's send window (WINDOW_UPDATE) only while the body's consumer keeps up: when the
  body pauses its producer (its buffer is over the high-water mark, or the transport it is
  copied to is full), the window is held, so the peer stops sending on this stream alone and
  the proxy never buffers more than one window of it.
- `StreamSender` is the sink of a body sent on a stream: chunks go out as DATA frames as the
  peer's windows allow; what waits is bounded, above it the body's producer is paused. The body
  ends with END_STREAM, or with its trailers. A sender whose window stays shut is `stalled_since`
  a time the connection checks against its stall timeout.

This module must never read or write a socket: the connection flushes `h2`'s output.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from typing import Protocol

from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.exceptions import H2Error

from meshproxy.http.body import Body
from meshproxy.http.flow import FlowControl

SEND_HIGH = 256 * 1024  # bytes waiting for window before the producer is paused
SEND_LOW = 64 * 1024


class Link(Protocol):
    """What a stream needs of its connection."""

    h2: H2Connection
    flow: FlowControl  # the transport's, for its write buffer

    def flush(self) -> None:
        """Write what `h2` has queued to the transport."""

    def now(self) -> float: ...


class StreamReader:
    """A `Body`'s producer on one stream: pausing holds the stream's receive window."""

    __slots__ = ("_link", "_paused", "_unacked", "stream_id")

    def __init__(self, link: Link, stream_id: int) -> None:
        self._link = link
        self.stream_id = stream_id
        self._paused = 0
        self._unacked = 0

    @property
    def held(self) -> bool:
        """The stream's window is held: the client cannot send, through no fault of its own."""
        return self._paused != 0

    def pause_reading(self, reason: int) -> None:
        self._paused |= reason

    def resume_reading(self, reason: int) -> None:
        if not self._paused & reason:
            return
        self._paused &= ~reason
        if not self._paused and self._unacked:
            self._ack(flush=True)

    def received(self, length: int, flush: bool = False) -> None:
        """`length` flow-controlled bytes were fed to the body: give them back unless paused."""
        self._unacked += length
        if not self._paused:
            self._ack(flush)

    def release(self) -> None:
        """The stream is over: whatever it held goes back to the connection's window."""
        self._paused = 0
        if self._unacked:
            self._ack(flush=True)

    def _ack(self, flush: bool) -> None:
        length, self._unacked = self._unacked, 0
        with contextlib.suppress(H2Error):  # the connection is closing
            self._link.h2.acknowledge_received_data(length, self.stream_id)
        if flush:
            self._link.flush()


StreamDone = Callable[[int, bool], None]
"""Called once with the payload bytes sent and whether the body ended whole."""


class StreamSender:
    """A `Body`'s sink on one stream (or a whole payload), sent as windows allow."""

    __slots__ = (
        "_body",
        "_chunks",
        "_done",
        "_ending",
        "_finished",
        "_link",
        "_paused",
        "_size",
        "sent",
        "stalled_since",
        "stream_id",
    )

    def __init__(self, link: Link, stream_id: int, body: Body | None, done: StreamDone) -> None:
        self._link = link
        self.stream_id = stream_id
        self._body = body
        self._done = done
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._ending = False
        self._finished = False
        self._paused = False
        self.sent = 0
        self.stalled_since = 0.0  # 0: not waiting for window

    @property
    def finished(self) -> bool:
        return self._finished

    # --- Sink --------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self._finished:
            if self._body is not None:
                self._body.cancel()
            return
        if data:
            self._chunks.append(data)
            self._size += len(data)
            self.pump()

    def end(self) -> None:
        self._ending = True
        self.pump()

    def fail(self, exc: BaseException) -> None:
        # The producer broke off mid-body: the peer must see the stream cut, not ended.
        self.abort(ErrorCodes.INTERNAL_ERROR)

    # --- driven by the connection --------------------------------------------------------------

    def pump(self) -> None:
        """Send what the windows allow; end the stream once everything is sent."""
        if self._finished:
            return
        link = self._link
        h2 = link.h2
        chunks = self._chunks
        sid = self.stream_id
        try:
            while chunks:
                window = min(h2.local_flow_control_window(sid), h2.max_outbound_frame_size)
                if window <= 0:
                    if not self.stalled_since:
                        self.stalled_since = link.now()
                    break
                chunk = chunks[0]
                if len(chunk) <= window:
                    chunks.popleft()
                else:
                    chunks[0] = chunk[window:]
                    chunk = chunk[:window]
                h2.send_data(sid, chunk)
                self._size -= len(chunk)
                self.sent += len(chunk)
            else:
                self.stalled_since = 0.0
                if self._ending:
                    trailers = self._body.trailers if self._body is not None else None
                    if trailers:
                        h2.send_headers(sid, trailers, end_stream=True)
                    else:
                        h2.end_stream(sid)
                    self._finish(True)
        except H2Error:
            # The stream was reset or the connection is going away: nobody reads the rest.
            self._chunks.clear()
            self._size = 0
            if self._body is not None:
                self._body.cancel()
            self._finish(False)
        link.flush()
        self._throttle()

    def abort(self, code: ErrorCodes = ErrorCodes.CANCEL) -> None:
        """Reset the stream; the rest of the body is dropped."""
        if self._finished:
            return
        self._chunks.clear()
        self._size = 0
        with contextlib.suppress(H2Error):
            self._link.h2.reset_stream(self.stream_id, code)
            self._link.flush()
        if self._body is not None:
            self._body.cancel()
        self._finish(False)

    def _finish(self, ok: bool) -> None:
        if not self._finished:
            self._finished = True
            self.stalled_since = 0.0
            self._done(self.sent, ok)

    def _throttle(self) -> None:
        body = self._body
        if body is None or self._finished:
            return
        flow = self._link.flow
        busy = self._size > SEND_HIGH or flow.write_paused
        if busy and not self._paused:
            self._paused = True
            body.pause()
            if flow.write_paused:
                flow.when_writable(self._writable)
        elif self._paused and self._size <= SEND_LOW and not flow.write_paused:
            self._paused = False
            body.resume()

    def _writable(self) -> None:
        self._throttle()
