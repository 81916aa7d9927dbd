"""One client connection: parse with httptools, run each request through the stack, in order.

Lifetime and backpressure are explicit:
- a single timer per connection enforces the header-read timeout (from the first byte of a
  request to its last header) and the idle keep-alive timeout (re-armed after each response); the
  timer is lazy: phase changes only move a deadline, the timer re-arms itself when it fires early;
- pipelined requests queue and are answered strictly in order, one at a time; above
  `limits.maxPipelinedRequests` queued requests reading pauses, and large reads are parsed in
  slices so one 10,000-request write never becomes 10,000 queued requests;
- request bodies stream into a `Body` (bounded buffer, pauses reading above its high-water mark);
  response bodies stream from the upstream straight into this transport, and a slow client
  pauses the upstream read (`http1.sink.BodySink`).

What the bytes mean is the HTTP/1 codec's (`meshproxy.http1`); this module drives the parser,
the connection's lifetime and the order of answers. Anything the parser or the codec's checks
reject is answered with a canned reply and the connection is closed; such a request is never
handed to the stack. This module must never log per request, and never write a head the codec
did not check.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable
from typing import Any, cast

import httptools

from meshproxy.http import canned
from meshproxy.http.body import Body, BodyError
from meshproxy.http.flow import PIPELINE, SHUTDOWN, FlowControl
from meshproxy.http.message import Exchange, LocalReply, Request, Response
from meshproxy.http1.request import check_head, read_field
from meshproxy.http1.response import response_head, upgrade_head
from meshproxy.http1.sink import BodySink
from meshproxy.server.state import ListenerState, Stack
from meshproxy.upstream.errors import UpstreamFailure

log = logging.getLogger("meshproxy.server")

# Connection phases for the lazy timer.
_IDLE, _HEADERS, _BUSY, _CLOSED = 0, 1, 2, 3

# Parse large reads in slices so the pipelining bound is checked between them.
_SLICE = 16 * 1024


class _Reject(Exception):
    """Raised from a parser callback to stop parsing; the status is in `_Conn._reject_status`."""


class HttpServerProtocol(asyncio.Protocol):
    __slots__ = (
        "_active",
        "_backlog",
        "_client_ip",
        "_closing",
        "_deadline",
        "_flow",
        "_head_bytes",
        "_headers",
        "_host",
        "_identity",
        "_in_head",
        "_limits",
        "_listener",
        "_loop",
        "_parser",
        "_parsing",
        "_phase",
        "_port",
        "_queue",
        "_raw_head",
        "_reject_status",
        "_sni",
        "_timer",
        "_transport",
        "_tunnel",
        "_upgrade_rest",
        "_url",
    )

    def __init__(self, listener: ListenerState, identity_of: Any = None) -> None:
        self._listener = listener
        self._loop = asyncio.get_running_loop()
        self._identity = identity_of
        self._transport: asyncio.Transport | None = None
        self._queue: deque[Exchange | int] = deque()
        self._active: Exchange | None = None
        self._parsing: Request | None = None
        self._tunnel: Any = None
        self._closing = False
        self._backlog = b""
        self._upgrade_rest = b""
        self._reject_status = 0
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._host: str | None = None
        self._head_bytes = 0
        self._in_head = False
        self._raw_head = 0
        self._sni: str | None = None
        self._port = 0

    # --- connection lifetime --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport = transport
        self._flow = FlowControl(transport)
        self._parser = httptools.HttpRequestParser(self)
        peer = transport.get_extra_info("peername")
        self._client_ip = peer[0] if peer else ""
        sock = transport.get_extra_info("sockname")
        self._port = sock[1] if sock else 0
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self._sni = self._listener.sni_names.pop(id(ssl_object), None)
            if self._identity is not None:
                self._identity = self._identity(ssl_object)
        else:
            self._identity = None
        self._limits = self._listener.stack.limits
        self._listener.connections.add(self)
        self._phase = _HEADERS
        self._deadline = self._loop.time() + self._limits.header_timeout
        self._timer: asyncio.TimerHandle | None = self._loop.call_at(self._deadline, self._on_timer)
        if self._listener.draining:
            self.shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self._phase = _CLOSED
        self._listener.connections.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._flow.connection_lost()
        parsing = self._parsing
        if parsing is not None and parsing.body is not None:
            parsing.body.fail(BodyError("client connection closed"))
        if self._tunnel is not None:
            self._tunnel.client_closed()

    def pause_writing(self) -> None:
        self._flow.pause_writing()

    def resume_writing(self) -> None:
        self._flow.resume_writing()

    @property
    def busy(self) -> bool:
        return self._active is not None or bool(self._queue) or self._tunnel is not None

    def shutdown(self) -> None:
        """Stop taking requests: close now when idle, else after the response in flight."""
        self._closing = True
        if not self.busy and self._transport is not None:
            self._transport.close()

    def _set_deadline(self, deadline: float) -> None:
        self._deadline = deadline
        timer = self._timer
        if timer is None or timer.when() > deadline:
            # The lazy timer only moves later by itself; an earlier deadline re-arms it. In
            # steady keep-alive traffic it is already due earlier, so this rarely costs a timer.
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._phase == _CLOSED or self._transport is None:
            return
        now = self._loop.time()
        if self._phase == _BUSY:
            # Requests in flight are bounded by route timeouts; look again later.
            self._timer = self._loop.call_at(now + self._limits.header_timeout, self._on_timer)
        elif now >= self._deadline:
            # Slow header read or idle keep-alive: close, with nothing owed to the client.
            self._phase = _CLOSED
            self._transport.close()
        else:
            self._timer = self._loop.call_at(self._deadline, self._on_timer)

    # --- reading ---------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._tunnel is not None:
            self._tunnel.from_client(data)
            return
        if self._reject_status or self._phase == _CLOSED:
            return  # after a rejection nothing more from this client is parsed
        if self._backlog:
            data = self._backlog + data
            self._backlog = b""
        if len(data) <= _SLICE:
            self._feed(data)
        else:
            for start in range(0, len(data), _SLICE):
                self._feed(data[start : start + _SLICE])
                if self._reject_status or self._upgrade_rest:
                    break
                if (
                    self._flow.read_paused
                    and len(self._queue) > self._limits.max_pipelined_requests
                ):
                    self._backlog = data[start + _SLICE :]
                    break
        if self._active is None and self._queue:
            self._next()

    def _feed(self, data: bytes) -> None:
        was_in_head = self._in_head
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._upgrade_rest = data[exc.args[0] :] or b"\x00"[:0]
            self._on_upgrade_request()
        except (httptools.HttpParserCallbackError, _Reject):
            self._reject(self._reject_status or 400)
        except httptools.HttpParserError:
            self._reject(400)
        else:
            if was_in_head and self._in_head:
                # httptools holds a header line until it ends: count the raw bytes of a head
                # that spans reads, so a line that never ends is refused too.
                self._raw_head += len(data)
                if self._raw_head > self._limits.max_header_bytes:
                    self._reject(431)

    def _reject(self, status: int) -> None:
        """Answer `status` after the requests queued before it, then close."""
        self._reject_status = status
        parsing = self._parsing
        if parsing is not None:
            self._parsing = None
            if parsing.body is not None:
                parsing.body.fail(BodyError("request rejected"))
            last = self._queue[-1] if self._queue else None
            if isinstance(last, Exchange) and last.request is parsing:
                self._queue.pop()  # never hand a rejected request to the stack
        self._queue.append(status)
        self._flow.pause_reading(SHUTDOWN)

    # httptools callbacks, in the order the parser calls them.

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._host = None
        self._head_bytes = 0
        self._in_head = True
        self._raw_head = 0
        if self._phase == _IDLE:
            self._phase = _HEADERS
            self._set_deadline(self._loop.time() + self._limits.header_timeout)

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_bytes += len(url)
        if self._head_bytes > self._limits.max_header_bytes:
            self._reject_status = 431
            raise _Reject

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > self._limits.max_header_bytes:
            self._reject_status = 431
            raise _Reject
        field = read_field(name, value)
        if field is None:
            self._reject_status = 400
            raise _Reject
        if field[0] == "host":
            if self._host is not None:  # two Host headers: which one would a backend use?
                self._reject_status = 400
                raise _Reject
            self._host = field[1].lower()
        self._headers.append(field)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._raw_head = 0
        status = self._check_head()
        if status:
            self._reject_status = status
            raise _Reject

    def _check_head(self) -> int:
        parser = self._parser
        method = parser.get_method().decode("ascii")
        version = parser.get_http_version()
        fields = check_head(
            method,
            version,
            self._url.decode("latin-1"),
            self._host,
            self._headers,
            self._sni,
            self._limits.max_request_body_bytes,
        )
        if isinstance(fields, int):
            return fields
        host, path, query, length, chunked = fields
        body: Body | None = None
        if chunked or (length is not None and length > 0):
            body = Body(self._flow, length)
        request = Request(
            method,
            path,
            query,
            self._headers,
            host,
            body,
            version,
            parser.should_keep_alive(),
        )
        exchange = Exchange(request, self._client_ip, self._listener.scheme, time.perf_counter())
        exchange.listener_port = self._port
        exchange.sni = self._sni
        exchange.identity = self._identity
        self._parsing = request
        self._queue.append(exchange)
        if len(self._queue) > self._limits.max_pipelined_requests:
            self._flow.pause_reading(PIPELINE)
        return 0

    def on_body(self, data: bytes) -> None:
        request = self._parsing
        if request is None or request.body is None:
            return
        body = request.body
        if body.received + len(data) > self._limits.max_request_body_bytes:
            self._reject_status = 413
            raise _Reject
        body.feed(data)

    def on_message_complete(self) -> None:
        request = self._parsing
        if request is not None:
            self._parsing = None
            if request.body is not None:
                request.body.finish()

    def _on_upgrade_request(self) -> None:
        """An `Upgrade` or `CONNECT` request was parsed; nothing after it is HTTP any more."""
        self._flow.pause_reading(SHUTDOWN)
        if not self._queue:
            return
        exchange = self._queue[-1]
        if isinstance(exchange, int):
            return
        request = exchange.request
        if request.method == "CONNECT":
            self._queue.pop()
            self._queue.append(405)
            return
        tokens = ""
        for key, value in request.headers:
            if key == "upgrade":
                tokens = value
        kept = [(k, v) for k, v in request.headers if k not in ("upgrade", "http2-settings")]
        request.keep_alive = False  # the parser stopped: close after this response
        if tokens and "h2c" not in tokens.lower():
            request.upgrade = tokens
        else:
            request.set_headers(kept)  # `Upgrade: h2c` is never forwarded: answer in HTTP/1.1

    # --- answering -------------------------------------------------------------------------------

    def _next(self) -> None:
        """Start the oldest queued request (the previous one has been answered)."""
        queue = self._queue
        item = queue.popleft()
        if self._flow.read_paused and len(queue) <= self._limits.max_pipelined_requests // 2:
            self._flow.resume_reading(PIPELINE)
            if self._backlog and not self._reject_status:
                self._loop.call_soon(self._resume_backlog)
        if isinstance(item, int):
            self._write_canned(item)
            return
        self._active = item
        self._phase = _BUSY
        request = item.request
        body = request.body
        if body is not None and not body.complete and request.header("expect") == "100-continue":
            # Answered here, so the client sends its body now; `expect` is not forwarded.
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # type: ignore[union-attr]
        stack = self._listener.stack
        start = stack.start
        if start is None:
            self._loop.create_task(self._run(item, stack, stack.handle(item)))
            return
        # Every layer of the chain can run by callbacks (`layers/chain.py`): no Task unless one
        # of them hands the rest over with `spawn`. Its local replies leave on a later loop turn,
        # so a pipeline of them never recurses.
        try:
            start(item, self, stack)
        except LocalReply as exc:
            self.reply_soon(item, exc.status, stack)
        except Exception:
            log.exception("request handler failed")
            self.reply_soon(item, 500, stack)

    def _resume_backlog(self) -> None:
        if self._backlog and self._phase != _CLOSED and not self._flow.read_paused:
            self.data_received(b"")

    def _write_canned(self, status: int) -> None:
        transport = self._transport
        assert transport is not None
        self._listener.stack.rejected(status)
        if not transport.is_closing():
            transport.write(canned.CLOSE[status])
            transport.close()
        self._phase = _CLOSED

    async def _run(self, exchange: Exchange, stack: Stack, pending: Awaitable[Response]) -> None:
        try:
            response = await pending
        except (LocalReply, UpstreamFailure) as exc:
            response = local_response(exc.status)
        except Exception:
            log.exception("request handler failed")
            response = local_response(500)
        self.respond(exchange, response, stack)

    # What a chain driven by callbacks needs of the connection (`state.Client`).

    def spawn(self, exchange: Exchange, stack: Stack, pending: Awaitable[Response]) -> None:
        self._loop.create_task(self._run(exchange, stack, pending))

    def reply_soon(self, exchange: Exchange, status: int, stack: Stack) -> None:
        self._loop.call_soon(self.respond, exchange, local_response(status), stack)

    def respond(self, exchange: Exchange, response: Response, stack: Stack) -> None:
        transport = self._transport
        if self._phase == _CLOSED or transport is None or transport.is_closing():
            if isinstance(response.body, Body):
                response.body.discard()
            stack.finish(exchange, response.status, 0, False)
            self._active = None
            return
        self._write_response(exchange, response, stack)

    def _write_response(self, exchange: Exchange, response: Response, stack: Stack) -> None:
        request = exchange.request
        status = response.status
        if status == 101 and response.extra is not None:
            self._write_head(upgrade_head(response), b"", exchange, stack)
            self._start_tunnel(exchange, response, stack)
            return
        close = not request.keep_alive or self._closing
        request_body = request.body
        if request_body is not None and not request_body.complete:
            close = True  # the rest of its body is still on the wire: no next request to read
        head, data, chunked, close = response_head(request, response, close)
        if close:
            request.keep_alive = False
        if data is not None:
            if self._write_head(head, data, exchange, stack):
                self._done(exchange, stack, status, len(data), True)
            return
        if not self._write_head(head, b"", exchange, stack):
            return
        body = response.body
        assert isinstance(body, Body)
        assert self._transport is not None
        body.attach(
            BodySink(
                self._transport,
                self._flow,
                body,
                chunked,
                lambda sent, ok: self._body_sent(exchange, stack, status, sent, ok),
            )
        )

    def _write_head(
        self, head: bytes | None, data: bytes, exchange: Exchange, stack: Stack
    ) -> bool:
        transport = self._transport
        assert transport is not None
        if head is None:
            # A header value carried CR, LF or NUL past every earlier check: never send it.
            transport.write(canned.CLOSE[502])
            transport.close()
            self._phase = _CLOSED
            stack.finish(exchange, 502, 0, False)
            self._active = None
            return False
        transport.write(head + data if data else head)
        return True

    def _body_sent(
        self, exchange: Exchange, stack: Stack, status: int, sent: int, ok: bool
    ) -> None:
        if not ok:
            # The upstream broke mid-body: the client must see a truncated message, so close.
            exchange.request.keep_alive = False
        self._done(exchange, stack, status, sent, ok)

    def _done(self, exchange: Exchange, stack: Stack, status: int, sent: int, ok: bool) -> None:
        """The response is fully written: account for it, then serve the next request or idle."""
        stack.finish(exchange, status, sent, ok)
        self._active = None
        transport = self._transport
        if transport is None or self._phase == _CLOSED:
            return
        if not ok or not exchange.request.keep_alive:
            self._phase = _CLOSED
            transport.close()
            return
        if self._queue:
            if self._flow.write_paused:
                # The client is not reading its answers: start the next request once it does,
                # so the queue fills, reading pauses, and unread answers never pile up here.
                self._flow.when_writable(self._next_when_writable)
            else:
                self._next()
        elif self._closing:
            self._phase = _CLOSED
            transport.close()
        else:
            self._phase = _IDLE
            self._set_deadline(self._loop.time() + self._limits.idle_timeout)

    def _next_when_writable(self) -> None:
        if self._phase != _CLOSED and self._active is None and self._queue:
            self._next()

    # --- upgrade tunnels -------------------------------------------------------------------------

    def _start_tunnel(self, exchange: Exchange, response: Response, stack: Stack) -> None:
        tunnel = response.extra
        self._tunnel = tunnel
        self._phase = _BUSY
        self._flow.resume_reading(SHUTDOWN)
        tunnel.bind_client(
            self, self._transport, self._flow, lambda: self._tunnel_done(exchange, stack)
        )
        if self._upgrade_rest:
            tunnel.from_client(self._upgrade_rest)
            self._upgrade_rest = b""

    def _tunnel_done(self, exchange: Exchange, stack: Stack) -> None:
        stack.finish(exchange, 101, 0, True)
        self._active = None
        self._phase = _CLOSED
        if self._transport is not None:
            self._transport.close()


def local_response(status: int) -> Response:
    return Response(
        status,
        [("content-type", "text/plain")],
        canned.body(status),
        local=True,
    )
