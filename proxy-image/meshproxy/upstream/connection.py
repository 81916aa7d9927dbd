"""One keep-alive HTTP/1.1 connection to an upstream endpoint, parsed with httptools.

`send` writes a whole request head with one `write` (plus the body: in the same write when it is
already complete, else streamed through `http1.sink.BodySink`), and returns a future of the
response head;
`send_to` does the same but hands the response head to a `Receiver` by callback, once the read
that carried it is parsed whole, so a response that arrived in one read leaves in one write.
The response body streams into a `Body` whose producer is this transport, so a slow client pauses
reading here. The connection goes back to its pool only when both the request was fully written
and the response fully read with keep-alive allowed.

This module must never decide policy (retries, ejection): it reports failures as
`UpstreamFailure` and lets the layers decide.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol, cast

import httptools

from meshproxy.http.body import Body, BodyError
from meshproxy.http.flow import FlowControl
from meshproxy.http.message import Response
from meshproxy.http1.response import NO_BODY_STATUS, read_head
from meshproxy.http1.sink import BodySink
from meshproxy.upstream.errors import UpstreamFailure

if TYPE_CHECKING:
    from meshproxy.upstream.pool import EndpointPool


class Receiver(Protocol):
    """Who `send_to` reports to: exactly one of the two is called, once."""

    def response(self, response: Response) -> None: ...

    def failed(self, failure: UpstreamFailure) -> None: ...


class RawReader(Protocol):
    """Who reads the connection once it stopped being HTTP: a tunnel, or the wait for a peer's
    answer to CONNECT before one."""

    def from_upstream(self, data: bytes) -> None: ...

    def upstream_eof(self) -> bool | None:
        """The peer sent FIN; True: keep the transport open for writing."""

    def upstream_closed(self) -> None: ...


class UpstreamConnection(asyncio.Protocol):
    __slots__ = (
        "_body",
        "_close_delimited",
        "_head_request",
        "_headers",
        "_keep_alive",
        "_loop",
        "_ready",
        "_receiver",
        "_request_written",
        "_response_done",
        "_waiter",
        "closed",
        "flow",
        "idle_since",
        "parser",
        "pool",
        "raw",
        "received",
        "requests",
        "transport",
        "tunnel",
        "upgrade_rest",
    )

    def __init__(self, pool: EndpointPool, raw: bool = False) -> None:
        self.pool = pool
        # A tunnel's leg: its bytes are never HTTP, and a server that speaks first (an HTTP/2
        # server's SETTINGS, an SMTP banner) may do so before the tunnel is spliced.
        self.raw = raw
        # Kept: `asyncio.get_running_loop()` costs a getpid() system call per call on 3.11.
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Response] | None = None
        self._receiver: Receiver | None = None
        self._ready: Response | None = None  # parsed, handed to the receiver after this read
        self._body: Body | None = None
        self._headers: list[tuple[str, str]] = []
        self._head_request = False
        self._keep_alive = False
        self._close_delimited = False
        self._request_written = True
        self._response_done = True
        self.closed = False
        self.requests = 0
        self.idle_since = 0.0
        self.received = False
        self.tunnel: RawReader | None = None
        self.upgrade_rest = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport = transport
        self.flow = FlowControl(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.flow.connection_lost()
        if self.tunnel is not None:
            self.tunnel.upstream_closed()
        waiter = self._waiter
        receiver = self._receiver
        if (waiter is not None and not waiter.done()) or receiver is not None:
            tls = self.pool.tls
            if self.requests == 1 and not self.received and tls is not None and tls.mesh:
                # TLS 1.3 tells a client its certificate was refused only at the first read,
                # and uvloop reports that alert as a plain close. A peer sidecar answers every
                # request it reads, so silence on a fresh mesh connection is a failed connect.
                failure = UpstreamFailure("connect-failure")
            else:
                failure = UpstreamFailure("reset", reused=not self.received and self.requests > 1)
            self._fail(failure)
        self._waiter = None
        body = self._body
        if body is not None:
            self._body = None
            if self._close_delimited:
                body.finish()  # a body without Content-Length or chunking ends with the close
            else:
                body.fail(BodyError("upstream closed mid-body"))
        self.pool.lost(self)

    def eof_received(self) -> bool | None:
        # A tunnel with half-close passes the FIN on and keeps writing; otherwise close.
        keep = self.tunnel.upstream_eof() if self.tunnel is not None else None
        # TLS closes on the peer's close_notify whatever this says (and warns when told True).
        transport = self.transport
        return keep if transport is not None and transport.can_write_eof() else None

    def pause_writing(self) -> None:
        self.flow.pause_writing()

    def resume_writing(self) -> None:
        self.flow.resume_writing()

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()

    # --- sending ---------------------------------------------------------------------------------

    def send(self, head: bytes, body: Body | None, head_request: bool) -> asyncio.Future[Response]:
        waiter: asyncio.Future[Response] = self._loop.create_future()
        self._waiter = waiter
        self._write_request(head, body, head_request)
        return waiter

    def send_to(
        self, head: bytes, body: Body | None, head_request: bool, receiver: Receiver
    ) -> None:
        """As `send`, reporting to `receiver` instead of a future (no Task needs to await)."""
        self._receiver = receiver
        self._write_request(head, body, head_request)

    def _write_request(self, head: bytes, body: Body | None, head_request: bool) -> None:
        transport = self.transport
        assert transport is not None
        self.requests += 1
        self.received = False
        self._head_request = head_request
        self._response_done = False
        self._keep_alive = False
        self._headers = []
        if body is None:
            self._request_written = True
            transport.write(head)
        elif body.complete:
            self._request_written = True
            transport.write(head + body.buffered())
        else:
            self._request_written = False
            transport.write(head)
            body.attach(BodySink(transport, self.flow, body, body.length is None, self._body_sent))

    def _body_sent(self, sent: int, ok: bool) -> None:
        if not ok:
            self.abort()
            return
        self._request_written = True
        if self._response_done:
            self._release()

    # --- httptools callbacks ---------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel.from_upstream(data)
            return
        if self.raw:
            self.upgrade_rest += data  # handed to the tunnel when it is spliced
            return
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self.upgrade_rest = data[exc.args[0] :]
        except httptools.HttpParserError:
            self._protocol_error()
        ready = self._ready
        if ready is not None:
            # After the whole read: the body that came with the head is in it already.
            receiver, self._receiver, self._ready = self._receiver, None, None
            assert receiver is not None
            receiver.response(ready)

    def _fail(self, failure: UpstreamFailure) -> None:
        """The exchange ends before a response head: tell whoever waits for one."""
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(failure)
        receiver = self._receiver
        if receiver is not None and self._ready is None:
            self._receiver = None
            receiver.failed(failure)

    def _protocol_error(self) -> None:
        self._fail(UpstreamFailure("protocol"))
        if self._body is not None:
            self._body.fail(BodyError("upstream sent a malformed response"))
            self._body = None
        self.abort()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200 and status != 101:
            self._headers = []  # an interim 1xx: the real response follows
            return
        fields = read_head(status, self._headers)
        if fields is None:
            self._protocol_error()
            return
        headers, length, chunked = fields
        body = Body(self.flow, length, self.abort)
        response = Response(status, headers, body)
        if status == 101:
            body.finish()
        elif self._head_request or status in NO_BODY_STATUS:
            # No body follows; httptools cannot be told so for HEAD, so this connection is not
            # reused (its parser would wait for the announced body).
            body.finish()
            if self._head_request:
                self._response_done = True
                self._keep_alive = False
        else:
            self._body = body
            self._close_delimited = length is None and not chunked
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(response)
        elif self._receiver is not None:
            self._ready = response

    def on_body(self, data: bytes) -> None:
        body = self._body
        if body is not None:
            body.feed(data)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200 and status != 101:
            return
        self._keep_alive = self.parser.should_keep_alive() and not self._head_request
        self._response_done = True
        body = self._body
        self._body = None
        if status != 101 and self._request_written:
            # Back in the pool before the body's end is reported: the client's next request,
            # which that report may start at once, can then reuse this connection.
            self._release()
        if body is not None:
            body.finish()

    def _release(self) -> None:
        if self.closed:
            return
        self.pool.release(self, self._keep_alive)
