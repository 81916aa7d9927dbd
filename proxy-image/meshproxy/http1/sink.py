"""One body sink for both directions: a request body streaming upstream, a response body
streaming to the client.

Chunks go straight onto the connection's transport (chunk-encoded when the length is unknown).
When the transport's buffer is over its high-water mark the body's producer is paused, and
resumed once it drains; a transport already closing cancels the body, since nobody will read
the rest. The connection hears once, through `done(sent, ok)`, that the body ended or broke off.

This module must never buffer: a chunk is written or dropped, never held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from meshproxy.http.body import Body
from meshproxy.http.flow import FlowControl

BodyDone = Callable[[int, bool], None]
"""Called once with the payload bytes written and whether the body ended whole."""


class BodySink:
    __slots__ = ("_body", "_chunked", "_done", "_flow", "_sent", "_transport")

    def __init__(
        self,
        transport: asyncio.Transport,
        flow: FlowControl,
        body: Body,
        chunked: bool,
        done: BodyDone,
    ) -> None:
        self._transport = transport
        self._flow = flow
        self._body = body
        self._chunked = chunked
        self._done = done
        self._sent = 0

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
        if flow.write_paused:
            self._body.pause()
            flow.when_writable(self._body.resume)

    def end(self) -> None:
        if self._chunked and not self._transport.is_closing():
            self._transport.write(b"0\r\n\r\n")
        self._done(self._sent, True)

    def fail(self, exc: BaseException) -> None:
        # The producer broke off mid-body: the receiver must see a truncated message.
        self._done(self._sent, False)
