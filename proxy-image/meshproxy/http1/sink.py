"""One body sink for both directions: a request body streaming upstream, a response body
streaming to the client.

Chunks go straight onto the connection's transport (chunk-encoded when the length is unknown).
When the transport's buffer is over its high-water mark the body's producer is paused, and
resumed once it drains; a transport already closing cancels the body, since nobody will read
the rest. The connection hears once, through `done(sent, ok)`, that the body ended or broke off.

A response to a client gives its listener's guard a say first (`ReadAhead.buffer`): while the
answer's unsent bytes stay within `responseBufferBytes` past the mark and the memory ceiling's
share, its upstream is read on, so an answer that fits is read whole and its upstream connection
goes back to the pool while the slow client takes it, as nginx's `proxy_buffering` and Envoy's
per-stream buffers do. Past either bound the producer is paused as above. The bytes held are
counted until the transport drains below its low mark or closes.

This module never keeps a chunk itself: a chunk is written or dropped, never held here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from meshproxy.http.body import Body
from meshproxy.http.flow import FlowControl
from meshproxy.http.message import Exchange

BodyDone = Callable[[int, bool], None]
"""Called once with the payload bytes written and whether the body ended whole."""


class ReadAhead(Protocol):
    """Who decides how much of a response may be held for a slow client, and counts it: the
    listener's guard (`limits.guard.ListenerGuard`)."""

    def buffer(self, unsent: int, more: int) -> str | None:
        """None: go on, `more` bytes counted; else the bound that says no ("": none applies)."""

    def buffered(self, exchange: Exchange | None) -> None: ...

    def buffer_full(self, exchange: Exchange | None, bound: str) -> None: ...

    def unbuffer(self, held: int) -> None:
        """Held bytes the client took, or that went with its connection."""


class BodySink:
    __slots__ = (
        "_body",
        "_buffered",
        "_chunked",
        "_done",
        "_exchange",
        "_flow",
        "_full",
        "_guard",
        "_held",
        "_sent",
        "_transport",
    )

    def __init__(
        self,
        transport: asyncio.Transport,
        flow: FlowControl,
        body: Body,
        chunked: bool,
        done: BodyDone,
        guard: ReadAhead | None = None,
        exchange: Exchange | None = None,
    ) -> None:
        self._transport = transport
        self._flow = flow
        self._body = body
        self._chunked = chunked
        self._done = done
        self._sent = 0
        # A response to a client: who decides how much of it may be held past the mark.
        self._guard = guard
        self._exchange = exchange
        self._held = 0  # unsent bytes counted in the guard's ledger, until the transport drains
        self._buffered = False
        self._full = False

    def write(self, data: bytes) -> None:
        transport = self._transport
        if transport.is_closing():
            self._body.cancel()
            return
        if not data:
            return
        self._sent += len(data)
        transport.write(b"%x\r\n%b\r\n" % (len(data), data) if self._chunked else data)
        flow = self._flow
        if flow.write_paused and not self._hold(transport.get_write_buffer_size()):
            self._body.pause()
            flow.when_writable(self._body.resume)

    def _hold(self, unsent: int) -> bool:
        """Past the high-water mark: may the producer go on with `unsent` bytes not yet taken?"""
        guard = self._guard
        if guard is None:
            return False
        more = unsent - self._held
        if more <= 0:
            return True  # the client took some since: nothing more to count
        refused = guard.buffer(unsent, more)
        if refused is not None:
            if refused and not self._full:
                self._full = True
                guard.buffer_full(self._exchange, refused)
            return False
        if not self._held:
            self._flow.when_writable(self._drained)
            if not self._buffered:
                self._buffered = True
                guard.buffered(self._exchange)
        self._held = unsent
        return True

    def _drained(self) -> None:
        """The client took what was held (below the low mark), or its connection is gone."""
        held, self._held = self._held, 0
        if held and self._guard is not None:
            self._guard.unbuffer(held)

    def end(self) -> None:
        if self._chunked and not self._transport.is_closing():
            self._transport.write(b"0\r\n\r\n")
        self._done(self._sent, True)

    def fail(self, exc: BaseException) -> None:
        # The producer broke off mid-body: the receiver must see a truncated message.
        self._done(self._sent, False)
