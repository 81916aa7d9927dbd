"""One HTTP/2 client connection: each stream becomes an Exchange run through the same stack as
an HTTP/1 request, concurrently, each in its own Task.

What the bytes mean is the `h2` library's and the codec's (`meshproxy.http2`); this module
drives them, owns the connection's lifetime and enforces its budgets:
- streams beyond SETTINGS_MAX_CONCURRENT_STREAMS, header lists beyond `maxHeaderBytes` and
  header blocks beyond 64 CONTINUATION frames end the connection (the `h2` library's GOAWAY);
- more stream resets, PINGs or SETTINGS per second than `limits.http2` allows: GOAWAY
  ENHANCE_YOUR_CALM and close (`http2.budget`);
- a stream whose send window stays shut for `stallTimeout` is reset; a connection with no stream
  for `idleTimeout` (`headerTimeout` before its first) gets GOAWAY and is closed: frames that
  open no stream (PING, WINDOW_UPDATE, SETTINGS) never keep it open, as in Envoy;
- the listener's slow-client limits, as the HTTP/1 codec applies them: a header block (HEADERS
  and its CONTINUATIONs) not complete within `headerTimeout` ends the connection (GOAWAY: HPACK
  state lives across the block, so no other stream can go on); a request body pausing longer
  than `bodyTimeout`, or not all in within `requestTimeout`, ends its stream (408 when nothing
  was answered yet, else RST_STREAM, as Envoy does); a transport write buffer above its
  high-water mark for `sendTimeout` aborts the connection. Each is counted in
  `meshproxy_limit_hits_total` and logged. One timer per connection: it sleeps until the idle
  deadline while nothing is in progress and sweeps every `ListenerLimits.http2_tick` otherwise,
  reading counters, so no frame reads the clock;
- request and response bodies stream with HTTP/2 flow control (`http2.streams`).

A request the checks refuse is answered with its canned status on its own stream and never
handed to the stack. gRPC requests get their local replies gRPC-shaped (`http2.grpc`), and a
`grpc-timeout` bounds the wait for the response head as a route timeout does. This module must
never log per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, cast

from h2 import events as ev
from h2.errors import ErrorCodes
from h2.exceptions import H2Error, ProtocolError

from meshproxy.http import canned
from meshproxy.http.body import Body, BodyError
from meshproxy.http.flow import FlowControl
from meshproxy.http.heads import valid_field_value
from meshproxy.http.message import Exchange, LocalReply, Request, Response
from meshproxy.http1.request import check_head, read_field
from meshproxy.http2 import grpc
from meshproxy.http2.budget import PING, RESET, SETTINGS, FrameBudget
from meshproxy.http2.connection import server_side, start
from meshproxy.http2.header_block import header_block_open
from meshproxy.http2.headers import client_response, trailer_fields
from meshproxy.http2.streams import StreamReader, StreamSender
from meshproxy.limits import guard as limit
from meshproxy.limits.receiving import ReceiveClock, receive_overdue, stream_limits
from meshproxy.limits.settings import ListenerLimits
from meshproxy.server.state import ListenerState, Stack
from meshproxy.server.timers import fires_at, next_tick
from meshproxy.upstream.errors import UpstreamFailure

log = logging.getLogger("meshproxy.server")

_NO_BODY_STATUS = frozenset({204, 304})
_LINGER = 1.0  # seconds a connection told GOAWAY for an error is kept open, reading nothing
CLIENT_GONE = 499  # the client reset the stream before its answer was sent (nginx's 499)


class _Stream:
    __slots__ = ("clock", "cut", "exchange", "grpc", "reader", "reset", "sender", "stack", "task")

    def __init__(self, exchange: Exchange, reader: StreamReader, stack: Stack) -> None:
        self.exchange = exchange
        self.reader = reader
        self.stack = stack
        self.task: asyncio.Task[None] | None = None
        self.sender: StreamSender | None = None
        self.reset = False
        self.grpc = False
        self.cut = False  # a receive limit answered it: what the stack answers later is dropped
        self.clock: ReceiveClock | None = None  # set by the first sweep that sees its body


class H2ServerConnection(asyncio.Protocol):
    def __init__(self, listener: ListenerState, identity_of: Any = None) -> None:
        self._listener = listener
        self._identity_of = identity_of
        self._loop = asyncio.get_running_loop()
        self._streams: dict[int, _Stream] = {}
        self._closing = False
        self._closed = False
        self._admitted = False
        self._discarding = False  # a GOAWAY for an error is out: what arrives is dropped
        self._sweeping = False  # the timer ticks every `http2_tick`, not at the idle deadline
        self._opened = False  # a stream has been opened: the idle timeout applies, not the header
        self._blocks = 0  # header blocks completed; and at the last sweep that saw one open
        self._block_seen = -1
        self._block_at = 0.0
        self._stalled_at = 0.0  # when the transport's write buffer went over its high-water mark
        self.transport: asyncio.Transport | None = None

    # --- Link (http2.streams) ----------------------------------------------------------------

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def now(self) -> float:
        return self._loop.time()

    # --- connection lifetime ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport = transport
        self.flow = FlowControl(transport)
        peer = transport.get_extra_info("peername")
        self._client_ip = peer[0] if peer else ""
        guard = self._guard = self._listener.guard
        refused = guard.admit(self._client_ip)
        if refused is not None:
            # Past a connection cap: closed before a frame is read, as the HTTP/1 codec does.
            guard.hit(refused, self._client_ip)
            self._closed = True
            transport.abort()
            return
        self._admitted = True
        cl = self._cl = guard.limits
        transport.set_write_buffer_limits(high=cl.write_buffer_bytes)
        sock = transport.get_extra_info("sockname")
        self._port = sock[1] if sock else 0
        ssl_object = transport.get_extra_info("ssl_object")
        self._sni: str | None = None
        self._identity: str | None = None
        if ssl_object is not None:
            self._sni = self._listener.sni_names.pop(id(ssl_object), None)
            if self._identity_of is not None:
                self._identity = self._identity_of(ssl_object)
        limits = self._listener.stack.limits
        self._limits = limits
        self._budget = FrameBudget(limits.http2)
        self.h2 = server_side(limits.http2, limits.max_header_bytes)
        start(self.h2, limits.http2)
        self.flush()
        self._idle_timeout = cl.idle_timeout
        self._idle_deadline = self.now() + cl.header_timeout
        self._timer: asyncio.TimerHandle | None = self._loop.call_at(
            self._idle_deadline, self._tick
        )
        self._listener.connections.add(self)
        if self._listener.draining:
            self.shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if not self._admitted:
            return
        self._admitted = False
        self._guard.leave(self._client_ip)
        self._listener.connections.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.flow.connection_lost()
        for stream in list(self._streams.values()):
            self._stream_reset(stream)

    def pause_writing(self) -> None:
        self.flow.pause_writing()
        if self._closed:
            return  # never admitted, or gone: no limits to keep
        send_timeout = self._cl.send_timeout
        if send_timeout:
            self._stalled_at = now = self.now()
            self._arm(now + send_timeout)

    def resume_writing(self) -> None:
        self.flow.resume_writing()

    @property
    def busy(self) -> bool:
        return bool(self._streams)

    def shutdown(self) -> None:
        """GOAWAY: no new streams; close once the open ones are answered."""
        if not self._closing:
            self._closing = True
            with contextlib.suppress(H2Error):
                self.h2.close_connection()
            self.flush()
        if not self._streams and self.transport is not None:
            self.transport.close()

    def _calm_down(self) -> None:
        """A budget is spent: tell the client why, and close."""
        with contextlib.suppress(H2Error):
            self.h2.close_connection(ErrorCodes.ENHANCE_YOUR_CALM)
        self._linger_close()

    def _linger_close(self) -> None:
        """Send what is queued (the GOAWAY), stop reading, close a second later. Closing at once
        with the client's flood still unread would make the kernel answer RST, and the client
        would lose the GOAWAY that says why."""
        self.flush()
        self._closing = True
        self._discarding = True
        for stream in list(self._streams.values()):
            self._stream_reset(stream)
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if transport.can_write_eof():
            transport.write_eof()
        self._loop.call_later(_LINGER, transport.close)

    def _arm(self, when: float) -> None:
        """Make the timer fire by `when`; it only moves later by itself (`_tick`)."""
        timer = self._timer
        if timer is None or fires_at(timer) > when:
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(when, self._tick)

    def _start_sweeping(self) -> None:
        self._sweeping = True
        self._arm(self.now() + self._cl.http2_tick)

    def _tick(self) -> None:
        fired, self._timer = self._timer, None
        if self._closed or self._discarding or self.transport is None:
            return
        now = self.now()
        cl = self._cl
        paused = self.flow.write_paused and cl.send_timeout
        if paused and now - self._stalled_at >= cl.send_timeout:
            self._send_timed_out()
            return
        if self._header_block_overdue(now, cl.header_timeout):
            self._limit_close(limit.HEADER_TIMEOUT)
            return
        if self._streams:
            self._sweep(now, cl)
            if self._closed or self._discarding:
                return
        if self._streams or self._block_seen >= 0:
            due = fires_at(fired) if fired is not None else None
            self._timer = self._loop.call_at(next_tick(due, now, cl.http2_tick), self._tick)
            return
        self._sweeping = False
        if now >= self._idle_deadline:
            # No stream for the idle timeout (the header timeout before the first): GOAWAY.
            if self._opened:
                self._guard.hit(limit.IDLE_TIMEOUT, self._client_ip, log=False)
            else:
                self._guard.hit(limit.HEADER_TIMEOUT, self._client_ip)
            self.shutdown()
            return
        when = self._idle_deadline
        if paused:
            when = min(when, self._stalled_at + cl.send_timeout)
        self._timer = self._loop.call_at(when, self._tick)

    def _header_block_overdue(self, now: float, header_timeout: float) -> bool:
        """A header block open at this sweep and at the one that first saw it, with no block
        completed in between, for the header timeout."""
        if not header_block_open(self.h2):
            self._block_seen = -1
            return False
        if self._block_seen != self._blocks:
            self._block_seen, self._block_at = self._blocks, now
            return False
        return now - self._block_at >= header_timeout

    def _sweep(self, now: float, cl: ListenerLimits) -> None:
        stall = self._limits.http2.stall_timeout
        body_timeout, request_timeout = cl.body_timeout, cl.request_timeout
        grpc_body_timeout, _ = stream_limits(True, body_timeout, request_timeout)
        for stream in list(self._streams.values()):
            sender = stream.sender
            if sender is not None and sender.stalled_since and now - sender.stalled_since > stall:
                sender.abort()
                continue
            body = stream.exchange.request.body
            if body is None or body.done or not (body_timeout or request_timeout):
                continue
            clock = stream.clock
            if clock is None:
                stream.clock = ReceiveClock(now, body.received)
                continue
            held = stream.reader.held
            if stream.grpc:
                which = receive_overdue(clock, now, body.received, held, grpc_body_timeout, 0.0)
            else:
                which = receive_overdue(
                    clock, now, body.received, held, body_timeout, request_timeout
                )
            if which is not None:
                self._cut(stream, which)

    def _cut(self, stream: _Stream, which: str) -> None:
        """A request body too slow: count and log it, then end its stream (408 when nothing was
        answered yet, else a reset), as HTTP/1 ends its connection and Envoy its stream."""
        self._guard.hit(which, self._client_ip)
        exchange = stream.exchange
        exchange.flags = f"{exchange.flags},{which}" if exchange.flags else which
        body = exchange.request.body
        if body is not None:
            body.fail(BodyError(which))
        sender = stream.sender
        if sender is not None:
            sender.abort()  # its answer is under way: only a reset can end it now
            return
        stream.cut = True
        if stream.task is not None and not stream.task.done():
            stream.task.cancel()
        self._answer(stream.reader.stream_id, stream, local_response(408))
        if stream.sender is None or stream.sender.finished:
            self._reset(stream, ErrorCodes.NO_ERROR)  # RFC 9113 §8.1: stop sending the body

    def _send_timed_out(self) -> None:
        """A client not reading what it asked for: aborted, as the HTTP/1 codec does."""
        self._guard.hit(limit.SEND_TIMEOUT, self._client_ip)
        for stream in self._streams.values():
            if stream.sender is not None:
                flags = stream.exchange.flags
                stream.exchange.flags = (
                    f"{flags},{limit.SEND_TIMEOUT}" if flags else limit.SEND_TIMEOUT
                )
        assert self.transport is not None
        self.transport.abort()

    def _limit_close(self, which: str) -> None:
        """A connection-wide limit fired: count and log it, GOAWAY, close."""
        self._guard.hit(which, self._client_ip)
        with contextlib.suppress(H2Error):
            self.h2.close_connection(ErrorCodes.NO_ERROR)
        self._linger_close()

    # --- reading ------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._closed or self._discarding:
            return
        try:
            events = self.h2.receive_data(data)
        except ProtocolError:
            # The library queued a GOAWAY naming the error (flood, bad frame, oversize list).
            self._linger_close()
            return
        for event in events:
            handler = _HANDLERS.get(type(event))
            if handler is not None:
                handler(self, event)
            if self._closed or self._discarding:
                return
        self.flush()
        if not self._sweeping and header_block_open(self.h2):
            self._start_sweeping()  # a header block is arriving: the header timeout watches it

    def _on_request(self, event: ev.RequestReceived) -> None:
        sid = event.stream_id
        stack = self._listener.stack
        self._blocks += 1
        if self._closing:
            with contextlib.suppress(H2Error):
                self.h2.reset_stream(sid, ErrorCodes.REFUSED_STREAM)
            return
        head = self._read_head(event)
        if isinstance(head, int):
            stack.rejected(head)
            self._answer_canned(sid, head)
            return
        method, target, host, fields = head
        checked = check_head(
            method, "2", target, host, fields, self._sni, self._limits.max_request_body_bytes
        )
        if isinstance(checked, int):
            stack.rejected(checked)
            self._answer_canned(sid, checked)
            return
        host, path, query, length, _ = checked
        shed = self._guard.start()
        if shed is not None:
            # Overloaded: the client may send it again elsewhere (it never started here).
            self._guard.hit(shed, self._client_ip)
            with contextlib.suppress(H2Error):
                self.h2.reset_stream(sid, ErrorCodes.REFUSED_STREAM)
            return
        reader = StreamReader(self, sid)
        body = None if event.stream_ended is not None else Body(reader, length)
        request = Request(method, path, query, fields, host, body, "2", True)
        exchange = Exchange(request, self._client_ip, self._listener.scheme, time.perf_counter())
        exchange.listener_port = self._port
        exchange.sni = self._sni
        exchange.identity = self._identity
        stream = _Stream(exchange, reader, stack)
        self._streams[sid] = stream
        self._opened = True
        if not self._sweeping:
            self._start_sweeping()
        stream.task = self._loop.create_task(self._run(sid, stream))

    def _read_head(
        self, event: ev.RequestReceived
    ) -> tuple[str, str, str | None, list[tuple[str, str]]] | int:
        """The request block as the HTTP/1 codec would have read it, or the status refusing it."""
        method = target = ""
        authority: str | None = None
        host: str | None = None
        fields: list[tuple[str, str]] = []
        for name, value in event.headers:
            if name[:1] == b":":
                text = value.decode("latin-1")
                if name == b":method":
                    method = text
                elif name == b":path":
                    target = text
                elif name == b":authority":
                    field = read_field(b"host", value)
                    if field is None:
                        return 400
                    authority = field[1].lower()
                continue
            field = read_field(name, value)
            if field is None or not valid_field_value(field[1]):
                return 400
            if field[0] == "host":
                if host is not None:
                    return 400
                host = field[1].lower()
            fields.append(field)
        if method == "CONNECT":
            return 405
        # RFC 9113 §8.3.1: :authority wins over a Host field, as the absolute-form authority
        # does in HTTP/1 (`http1.request.check_head`); the upstream is sent that one only.
        return method, target, authority or host, fields

    def _on_data(self, event: ev.DataReceived) -> None:
        stream = self._streams.get(event.stream_id)
        length = event.flow_controlled_length
        if stream is None or stream.exchange.request.body is None:
            with contextlib.suppress(H2Error):
                self.h2.acknowledge_received_data(length, event.stream_id)
            return
        body = stream.exchange.request.body
        if not body.done:
            if body.received + len(event.data) > self._limits.max_request_body_bytes:
                body.fail(BodyError("request body over the limit"))
                self._reset(stream, ErrorCodes.CANCEL)
                return
            body.feed(event.data)
        stream.reader.received(length)

    def _on_trailers(self, event: ev.TrailersReceived) -> None:
        self._blocks += 1
        stream = self._streams.get(event.stream_id)
        if stream is not None and stream.exchange.request.body is not None:
            stream.exchange.request.body.trailers = trailer_fields(event.headers)

    def _on_end(self, event: ev.StreamEnded) -> None:
        stream = self._streams.get(event.stream_id)
        if stream is not None:
            body = stream.exchange.request.body
            if body is not None and not body.done:
                body.finish()

    def _on_reset(self, event: ev.StreamReset) -> None:
        if event.remote_reset and not self._budget.spend(RESET, self.now()):
            self._calm_down()
            return
        stream = self._streams.get(event.stream_id)
        if stream is not None:
            self._stream_reset(stream)

    def _on_window(self, event: ev.WindowUpdated) -> None:
        if event.stream_id:
            stream = self._streams.get(event.stream_id)
            if stream is not None and stream.sender is not None:
                stream.sender.pump()
            return
        for stream in list(self._streams.values()):
            if stream.sender is not None:
                stream.sender.pump()

    def _on_ping(self, event: ev.PingReceived) -> None:
        if not self._budget.spend(PING, self.now()):
            self._calm_down()

    def _on_settings(self, event: ev.RemoteSettingsChanged) -> None:
        if not self._budget.spend(SETTINGS, self.now()):
            self._calm_down()

    def _on_goaway(self, event: ev.ConnectionTerminated) -> None:
        self._closing = True
        if not self._streams and self.transport is not None:
            self.transport.close()

    # --- answering ----------------------------------------------------------------------------

    async def _run(self, sid: int, stream: _Stream) -> None:
        exchange = stream.exchange
        request = exchange.request
        stack = stream.stack
        stream.grpc = grpc.is_grpc(request.header("content-type"))
        deadline = grpc.parse_timeout(request.header("grpc-timeout")) if stream.grpc else None
        try:
            if deadline is not None:
                async with asyncio.timeout(deadline):
                    response = await stack.handle(exchange)
            else:
                response = await stack.handle(exchange)
        except TimeoutError:
            response = local_response(504)
        except (LocalReply, UpstreamFailure) as exc:
            response = local_response(exc.status)
        except asyncio.CancelledError:
            if not stream.cut:  # else answered and accounted for by `_cut`
                self._forget(sid, stream)
                stack.finish(exchange, CLIENT_GONE, 0, False)
            return
        except Exception:
            log.exception("request handler failed")
            response = local_response(500)
        self._respond(sid, stream, response)

    def _respond(self, sid: int, stream: _Stream, response: Response) -> None:
        body = response.body
        if stream.cut or stream.reset or self._closed:
            if isinstance(body, Body):
                body.cancel()
            if not stream.cut:
                self._forget(sid, stream)
                stream.stack.finish(stream.exchange, CLIENT_GONE, 0, False)
            return
        self._answer(sid, stream, response)

    def _answer(self, sid: int, stream: _Stream, response: Response) -> None:
        exchange = stream.exchange
        stack = stream.stack
        status = response.status
        body = response.body
        h2 = self.h2
        if stream.grpc and response.local:
            headers = grpc.local_reply(status)
            exchange.grpc_status = headers[2][1]
            self._send_whole(sid, stream, headers, status)
            return
        if stream.grpc and not exchange.grpc_status:
            exchange.grpc_status = grpc.status_of(response.headers)
        no_body = exchange.request.method == "HEAD" or status in _NO_BODY_STATUS
        data: bytes | None
        if isinstance(body, bytes):
            data = body
        elif body.complete and not body.trailers:
            data = body.buffered()
        else:
            data = None
        length = len(data) if data is not None else body.length if isinstance(body, Body) else None
        headers = client_response(response, None if status in _NO_BODY_STATUS else length)
        if no_body or (data is not None and not data):
            if isinstance(body, Body):
                body.discard()
            self._send_whole(sid, stream, headers, status)
            return

        def done(sent: int, ok: bool) -> None:
            self._response_sent(sid, stream, status, sent, ok, body)

        try:
            h2.send_headers(sid, headers)
        except H2Error:
            if isinstance(body, Body):
                body.cancel()
            self._reset(stream, ErrorCodes.INTERNAL_ERROR)
            self._forget(sid, stream)
            stack.finish(exchange, 502, 0, False)
            return
        sender = StreamSender(self, sid, body if isinstance(body, Body) else None, done)
        stream.sender = sender
        if data is not None:
            sender.write(data)
            sender.end()
        else:
            assert isinstance(body, Body)
            body.attach(sender)

    def _send_whole(
        self, sid: int, stream: _Stream, headers: list[tuple[str, str]], status: int
    ) -> None:
        ok = True
        try:
            self.h2.send_headers(sid, headers, end_stream=True)
        except H2Error:
            ok = False
            self._reset(stream, ErrorCodes.INTERNAL_ERROR)
        self.flush()
        self._finish_stream(sid, stream)
        stream.stack.finish(stream.exchange, status if ok else 502, 0, ok)

    def _response_sent(
        self, sid: int, stream: _Stream, status: int, sent: int, ok: bool, body: Body | bytes
    ) -> None:
        exchange = stream.exchange
        if stream.grpc and isinstance(body, Body) and body.trailers:
            exchange.grpc_status = grpc.status_of(body.trailers) or exchange.grpc_status
        self._finish_stream(sid, stream)
        stream.stack.finish(exchange, status if ok or sent else CLIENT_GONE, sent, ok)

    def _finish_stream(self, sid: int, stream: _Stream) -> None:
        """The response has ended: a request body still arriving is not wanted any more."""
        body = stream.exchange.request.body
        if body is not None and not body.done:
            body.cancel()
            self._reset(stream, ErrorCodes.NO_ERROR)
        self._forget(sid, stream)

    def _forget(self, sid: int, stream: _Stream) -> None:
        if self._streams.get(sid) is stream:
            del self._streams[sid]
            self._guard.end()
            stream.reader.release()
            if not self._streams:
                self._idle_deadline = self.now() + self._idle_timeout
                if self._closing and self.transport is not None:
                    self.flush()
                    self.transport.close()

    def _answer_canned(self, sid: int, status: int) -> None:
        text = canned.body(status)
        headers = [
            (":status", str(status)),
            ("content-type", "text/plain"),
            ("content-length", str(len(text))),
        ]
        with contextlib.suppress(H2Error):
            self.h2.send_headers(sid, headers)
            self.h2.send_data(sid, text, end_stream=True)
        self.flush()

    def _reset(self, stream: _Stream, code: ErrorCodes) -> None:
        stream.reset = True
        with contextlib.suppress(H2Error):
            self.h2.reset_stream(stream.reader.stream_id, code)
        self.flush()

    def _stream_reset(self, stream: _Stream) -> None:
        """The client reset the stream, or the connection is gone: stop both directions."""
        stream.reset = True
        body = stream.exchange.request.body
        if body is not None and not body.done:
            body.fail(BodyError("client reset the stream"))
        if stream.sender is not None:
            stream.sender.abort()
        elif stream.task is not None and not stream.task.done():
            stream.task.cancel()


_HANDLERS: dict[type, Any] = {
    ev.RequestReceived: H2ServerConnection._on_request,
    ev.DataReceived: H2ServerConnection._on_data,
    ev.TrailersReceived: H2ServerConnection._on_trailers,
    ev.StreamEnded: H2ServerConnection._on_end,
    ev.StreamReset: H2ServerConnection._on_reset,
    ev.WindowUpdated: H2ServerConnection._on_window,
    ev.PingReceived: H2ServerConnection._on_ping,
    ev.RemoteSettingsChanged: H2ServerConnection._on_settings,
    ev.ConnectionTerminated: H2ServerConnection._on_goaway,
}


def local_response(status: int) -> Response:
    return Response(status, [("content-type", "text/plain")], canned.body(status), local=True)
