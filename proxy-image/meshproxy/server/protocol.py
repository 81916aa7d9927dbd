"""One client connection: parse with httptools, run each request through the stack, in order.

Lifetime and backpressure are explicit:
- the listener's guard (`meshproxy.limits`) admits the connection before a byte is parsed, and
  each request before it enters the stack; a refused connection is closed, a shed request is
  answered 503 with `Retry-After`;
- a single timer per connection enforces the header-read timeout (from the first byte of a
  request to its last header) and the idle keep-alive timeout (re-armed after each response); the
  timer is lazy: phase changes only move a deadline, the timer re-arms itself when it fires early.
  While a request is still arriving it ticks (`ListenerLimits.tick`) to look at the body gap and
  the whole-request receive deadline, read from counters at the tick, so no chunk reads the
  clock; an answer stuck unsent wakes it at its send deadline, and nothing else does while a
  request is in flight;
- a request whose body is short (`bodyPrebufferBytes`) and still arriving waits for all of it
  before it enters the stack, so a slow body holds this connection and never an upstream one;
- pipelined requests queue and are answered strictly in order, one at a time; above
  `limits.maxPipelinedRequests` queued requests reading pauses, and large reads are parsed in
  slices so one 10,000-request write never becomes 10,000 queued requests;
- request bodies stream into a `Body` (bounded buffer, pauses reading above its high-water mark);
  response bodies stream from the upstream straight into this transport, and a slow client
  pauses the upstream read once the listener's response buffer is full (`http1.sink.BodySink`);
  the send timeout still bounds what is held after the answer is written, its close included;
- a request still incomplete a second after a read (a slow head, or a short body it waits for) is
  held: uvloop stops reading it and the listener's slow lane reads it, a bounded slice of held
  connections per loop turn (`limits/slow_lane.py`), so an attacker's burst of header lines over
  thousands of connections is read between everyone else's reads, not in one queue before them.

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
from meshproxy.http1.connect import CONNECTED, connect_authority
from meshproxy.http1.request import check_head, read_field
from meshproxy.http1.response import response_head, upgrade_head
from meshproxy.http1.sink import BodySink
from meshproxy.limits import guard as limit
from meshproxy.server.state import ListenerState, Stack
from meshproxy.server.timers import fires_at, next_tick
from meshproxy.upstream.errors import UpstreamFailure

log = logging.getLogger("meshproxy.server")

# Connection phases for the lazy timer.
_IDLE, _HEADERS, _BUSY, _CLOSED = 0, 1, 2, 3
_NEVER = float("inf")  # a deadline that is not set

# Where a connection is in the slow lane (`limits/slow_lane.py`): a read left its request
# incomplete (watched, until `slow_after`), or held (the kernel keeps its bytes for the lane).
_FAST, _WATCHED, _HELD = 0, 1, 2

# Parse large reads in slices so the pipelining bound is checked between them.
_SLICE = 16 * 1024

# `Request.upgrade` of a CONNECT this listener tunnels (compared by identity).
_CONNECT = "CONNECT"


# What a closed connection holds instead of its own parser and what its transport calls instead
# of it: neither refers back to the connection (`_drop_cycles`).
_INERT_PARSER = httptools.HttpRequestParser(object())
_CLOSED_PROTOCOL = asyncio.Protocol()


class _Reject(Exception):
    """Raised from a parser callback to stop parsing; the status is in `_Conn._reject_status`."""


class HttpServerProtocol(asyncio.Protocol):
    __slots__ = (
        "_active",
        "_admitted",
        "_backlog",
        "_body_seen",
        "_cl",
        "_client_ip",
        "_closing",
        "_deadline",
        "_fd",
        "_flow",
        "_guard",
        "_head_bytes",
        "_headers",
        "_holding",
        "_host",
        "_identity",
        "_in_head",
        "_lane",
        "_lane_at",
        "_limits",
        "_listener",
        "_loop",
        "_parked",
        "_parser",
        "_parsing",
        "_phase",
        "_port",
        "_progress_at",
        "_queue",
        "_raw_head",
        "_reject_status",
        "_seq",
        "_seq_at",
        "_seq_seen",
        "_sni",
        "_stalled_at",
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
        self._admitted = False
        self._holding = False  # counted in the guard's requests in progress
        self._parked: Exchange | None = None  # waiting for its short body before the stack
        self._stalled_at = 0.0  # when the transport's write buffer went over its high-water mark
        self._seq = 0  # requests begun on this connection
        self._seq_seen = -1  # the request being received at the last tick, and since when
        self._seq_at = 0.0
        self._body_seen = -1  # body bytes received at the last tick, and when they last grew
        self._progress_at = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._lane = _FAST
        self._lane_at = 0.0  # when a watched request is held if still incomplete
        self._fd = -1  # the socket the slow lane reads while it holds this connection

    # --- connection lifetime --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport = transport
        self._flow = FlowControl(transport)
        peer = transport.get_extra_info("peername")
        self._client_ip = peer[0] if peer else ""
        guard = self._guard = self._listener.guard
        refused = guard.admit(self._client_ip)
        if refused is not None:
            # Past a cap: closed before a byte is read or parsed, the cheapest answer there is.
            guard.hit(refused, self._client_ip)
            self._phase = _CLOSED
            transport.abort()
            return
        self._admitted = True
        cl = self._cl = guard.limits
        transport.set_write_buffer_limits(high=cl.write_buffer_bytes)
        self._parser = httptools.HttpRequestParser(self)
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
        self._deadline = self._loop.time() + cl.header_timeout
        self._timer = self._loop.call_at(self._deadline, self._on_timer)
        if self._listener.draining:
            self.shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self._phase = _CLOSED
        if self._lane == _HELD:
            self._lane = _FAST
            self._listener.lane.release(self, self._fd)
        self._drop_cycles()
        if not self._admitted:
            return
        self._admitted = False
        self._guard.leave(self._client_ip)
        self._release()
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

    def _drop_cycles(self) -> None:
        """Cut what ties a closed connection to itself (its parser's callbacks, its transport's
        protocol), so reference counting frees it now: a cycle would wait for the collector's
        full pass, whose pause grows with every connection still open (limits/collector.py)."""
        self._parser = _INERT_PARSER
        transport = self._transport
        if transport is not None:
            transport.set_protocol(_CLOSED_PROTOCOL)

    def eof_received(self) -> bool | None:
        tunnel = self._tunnel
        if tunnel is None:
            return None  # the default: close
        keep = tunnel.client_eof()  # a CONNECT tunnel passes the FIN on and keeps writing
        # TLS closes on the client's close_notify whatever this says (and warns when told True).
        transport = self._transport
        return keep if transport is not None and transport.can_write_eof() else None

    def pause_writing(self) -> None:
        self._flow.pause_writing()
        send_timeout = self._cl.send_timeout
        if send_timeout and self._phase != _CLOSED:
            self._stalled_at = now = self._loop.time()
            self._arm(now + send_timeout)

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
        self._arm(deadline)

    def _arm(self, when: float) -> None:
        timer = self._timer
        if timer is None or fires_at(timer) > when:
            # The lazy timer only moves later by itself; an earlier deadline re-arms it. In
            # steady keep-alive traffic it is already due earlier, so this rarely costs a timer.
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        fired, self._timer = self._timer, None
        if self._transport is None:
            return
        now = self._loop.time()
        cl = self._cl
        stalled = self._flow.write_paused and cl.send_timeout
        if stalled and now >= self._stalled_at + cl.send_timeout:
            self._limit_close(limit.SEND_TIMEOUT)  # a client not reading what it asked for
            return
        if self._phase == _CLOSED:
            # Closing after its last answer (or lost: the timer was cancelled then): an answer
            # still unsent is bounded by the send timeout, or a client that never reads would
            # hold its connection and what is buffered for it for good.
            if stalled:
                self._timer = self._loop.call_at(self._stalled_at + cl.send_timeout, self._on_timer)
            return
        if self._phase == _BUSY:
            overdue = self._receive_overdue(now, cl.body_timeout, cl.request_timeout)
            if overdue is not None:
                self._limit_close(overdue)
                return
            lane_when = self._hold_if_slow(now) if self._lane == _WATCHED else _NEVER
            # A request still arriving is looked at every tick: by this timer, or by the slow
            # lane's sweep while the lane holds it (`lane_tick`), so thousands of slow bodies
            # cost no timer each. One all in is bounded by its route's timeouts, and its
            # answer, if stalled, by the send timeout: nothing to look at before then (a
            # request beginning behind it arms the tick: `on_message_begin`), so thousands of
            # slow readers cost no timer per tick either.
            if (self._in_head or self._parsing is not None) and self._lane != _HELD:
                when = next_tick(fires_at(fired) if fired is not None else None, now, cl.tick)
            elif stalled:
                when = self._stalled_at + cl.send_timeout
            else:
                when = _NEVER
            when = min(when, lane_when)
            if when != _NEVER:
                self._timer = self._loop.call_at(when, self._on_timer)
        elif now >= self._deadline:
            # Slow header read or idle keep-alive: close, with nothing owed to the client.
            if self._phase == _HEADERS:
                self._limit_close(limit.HEADER_TIMEOUT)
            else:
                self._guard.hit(limit.IDLE_TIMEOUT, self._client_ip, log=False)
                self._phase = _CLOSED
                self._transport.close()
        else:
            when = self._deadline
            if self._lane == _WATCHED:
                when = min(when, self._hold_if_slow(now))
            self._timer = self._loop.call_at(when, self._on_timer)

    def _hold_if_slow(self, now: float) -> float:
        """A request watched since a read left it incomplete: still incomplete `slow_after`
        later, the listener's slow lane reads it from now on (`limits/slow_lane.py`). When to
        look again."""
        if now < self._lane_at:
            return self._lane_at
        self._lane = _FAST
        transport = self._transport
        if transport is None or self._flow.read_paused:
            return _NEVER  # paused for another reason: what resumes it reads it
        if transport.get_extra_info("ssl_object") is not None:
            return _NEVER  # TLS bytes must go through its transport
        sock = transport.get_extra_info("socket")
        if sock is None:
            return _NEVER
        transport.pause_reading()  # not through the flow control: the lane reads it instead
        self._lane = _HELD
        self._fd = fd = sock.fileno()
        self._listener.lane.hold(self, fd)
        return _NEVER

    @property
    def lane_held(self) -> bool:
        """The slow lane's to read: held, open, and not paused for another reason."""
        transport = self._transport
        return (
            self._lane == _HELD
            and self._phase != _CLOSED
            and transport is not None
            and not transport.is_closing()  # the socket may be closed before connection_lost
            and not self._flow.read_paused
        )

    def lane_left(self) -> None:
        """The slow lane let this connection go: uvloop reads it again, unless something else
        keeps it paused (that one resumes it); a request still arriving is ticked by its own
        timer again."""
        self._lane = _FAST
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if not self._flow.read_paused:
            transport.resume_reading()
        if self._phase == _BUSY and (self._in_head or self._parsing is not None):
            self._arm(self._loop.time() + self._cl.tick)

    def lane_tick(self, now: float) -> None:
        """The slow lane's sweep, every tick, while it holds this connection: the receive
        deadlines of a request still arriving (the header deadline has its own timer)."""
        if self._phase != _BUSY or self._transport is None:
            return
        cl = self._cl
        overdue = self._receive_overdue(now, cl.body_timeout, cl.request_timeout)
        if overdue is not None:
            self._limit_close(overdue)

    def _slow_read(self) -> None:
        """A read left the request incomplete: watch it, unless the slow lane holds it."""
        if self._lane == _FAST:
            self._lane = _WATCHED
            self._lane_at = when = self._loop.time() + self._cl.slow_after
            self._arm(when)

    def _fast_again(self) -> None:
        """The request is complete: the connection's next bytes are read as they come."""
        if self._lane == _HELD:
            self._listener.lane.release(self, self._fd)
            self.lane_left()
        self._lane = _FAST

    def _receive_overdue(
        self, now: float, body_timeout: float, request_timeout: float
    ) -> str | None:
        """Which receive limit the request still arriving has passed, judged from what changed
        since the last tick (so nothing per chunk reads the clock)."""
        receiving = self._in_head or self._parsing is not None
        if not receiving:
            self._seq_seen = -1
            self._body_seen = -1
            return None
        if self._seq != self._seq_seen:
            self._seq_seen, self._seq_at = self._seq, now
            self._body_seen, self._progress_at = -1, now
        elif request_timeout and now - self._seq_at >= request_timeout:
            return limit.REQUEST_TIMEOUT
        parsing = self._parsing
        body = parsing.body if parsing is not None else None
        if body is not None and body_timeout:
            if body.received != self._body_seen:
                self._body_seen, self._progress_at = body.received, now
            elif now - self._progress_at >= body_timeout:
                return limit.BODY_TIMEOUT
        return None

    def _limit_close(self, which: str) -> None:
        """A limit fired: count and log it, mark the request it cut, and close at once."""
        self._guard.hit(which, self._client_ip)
        exchange = self._parked or self._active
        if exchange is not None:
            exchange.flags = f"{exchange.flags},{which}" if exchange.flags else which
        parsing = self._parsing
        if parsing is not None and parsing.body is not None:
            parsing.body.fail(BodyError(which))
        parked, self._parked = self._parked, None
        transport = self._transport
        assert transport is not None
        if parked is not None and which != limit.SEND_TIMEOUT:
            # Nothing of its answer was written: say why before closing.
            transport.write(canned.CLOSE[408])
            self._listener.stack.finish(parked, 408, 0, False)
            self._active = None
            self._release()
        self._phase = _CLOSED
        transport.abort() if which == limit.SEND_TIMEOUT else transport.close()

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
        if self._in_head or self._parked is not None:
            self._slow_read()  # a well-behaved client's read rarely ends mid-request
        elif self._lane:
            self._fast_again()

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
        self._seq += 1
        self._url = b""
        self._headers = []
        self._host = None
        self._head_bytes = 0
        self._in_head = True
        self._raw_head = 0
        if self._phase == _IDLE:
            self._phase = _HEADERS
            self._set_deadline(self._loop.time() + self._cl.header_timeout)
        elif self._phase == _BUSY:
            # Behind a request in flight, whose timer may be off (`_on_timer`): this one's
            # receive deadlines need the tick.
            self._arm(self._loop.time() + self._cl.tick)

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
        if method == "CONNECT":
            return self._check_connect(version)
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

    def _check_connect(self, version: str) -> int:
        """A CONNECT: 405 where the listener tunnels nothing (the edge), else queued like any
        request once its target is a valid `host:port`; nothing after its head is HTTP."""
        if self._listener.stack.connect is None:
            return 405
        authority = connect_authority(self._url.decode("latin-1"))
        if isinstance(authority, int):
            return authority
        request = Request("CONNECT", "", "", self._headers, authority, None, version, False)
        request.upgrade = _CONNECT
        exchange = Exchange(request, self._client_ip, self._listener.scheme, time.perf_counter())
        exchange.listener_port = self._port
        exchange.sni = self._sni
        exchange.identity = self._identity
        self._queue.append(exchange)
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
        parked = self._parked
        if parked is not None and body.received >= self._cl.body_prebuffer_bytes:
            self._parked = None
            self._loop.call_soon(self._enter_parked, parked)

    def on_message_complete(self) -> None:
        request = self._parsing
        if request is not None:
            self._parsing = None
            if request.body is not None:
                request.body.finish()
            parked = self._parked
            if parked is not None and parked.request is request:
                self._parked = None
                self._loop.call_soon(self._enter_parked, parked)

    def _on_upgrade_request(self) -> None:
        """An `Upgrade` or `CONNECT` request was parsed; nothing after it is HTTP any more."""
        self._flow.pause_reading(SHUTDOWN)
        if not self._queue:
            return
        exchange = self._queue[-1]
        if isinstance(exchange, int):
            return
        request = exchange.request
        if request.upgrade is _CONNECT:
            # Answered by the listener's CONNECT chain (`_enter`); a listener that tunnels
            # nothing refused it with 405 at its head (`_check_connect`).
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
        if body is not None and not body.complete:
            self._arm(self._loop.time() + self._cl.tick)  # watch the body arrive
            if request.header("expect") == "100-continue":
                # Answered here, so the client sends its body now; `expect` is not forwarded.
                self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # type: ignore[union-attr]
            prebuffer = self._cl.body_prebuffer_bytes
            if body.received < prebuffer and (body.length is None or body.length <= prebuffer):
                self._parked = item  # enters the stack once its body is in (`on_body`)
                return
        self._enter(item)

    def _enter_parked(self, exchange: Exchange) -> None:
        if self._phase != _CLOSED and self._active is exchange:
            self._enter(exchange)

    def _enter(self, item: Exchange) -> None:
        """Hand a request to the stack, or shed it when the listener is past capacity (a request
        still waiting for its body holds no slot: it costs the stack nothing yet)."""
        shed = self._guard.start()
        if shed is not None:
            self._shed(item, shed)
            return
        self._holding = True
        stack = self._listener.stack
        if item.request.upgrade is _CONNECT and stack.connect is not None:
            self._loop.create_task(self._run(item, stack, stack.connect(item)))
            return
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

    def _shed(self, exchange: Exchange, which: str) -> None:
        """Past capacity: answer 503 with Retry-After without entering the stack, and close."""
        self._guard.hit(which, self._client_ip, log=False)  # the request's own line says it
        exchange.flags = which
        transport = self._transport
        assert transport is not None
        transport.write(limit.SHED_REPLY)
        transport.close()
        self._phase = _CLOSED
        self._active = None
        self._listener.stack.finish(exchange, 503, len(limit.SHED_REPLY), True)

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            self._guard.end()

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
            self._release()
            return
        self._write_response(exchange, response, stack)

    def _write_response(self, exchange: Exchange, response: Response, stack: Stack) -> None:
        # Answered: what is left is delivery, bounded by the send timeout, so a slow reader
        # never holds one of the listener's request slots.
        self._release()
        request = exchange.request
        status = response.status
        if response.extra is not None:
            if status == 101:
                self._write_head(upgrade_head(response), b"", exchange, stack)
                self._start_tunnel(exchange, response, stack)
                return
            if request.upgrade is _CONNECT:
                self._write_head(CONNECTED, b"", exchange, stack)
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
                self._guard,  # how much of it may be held for a slow client
                exchange,
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
            self._release()
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
        self._release()
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
            self._set_deadline(self._loop.time() + self._cl.idle_timeout)

    def _next_when_writable(self) -> None:
        if self._phase != _CLOSED and self._active is None and self._queue:
            self._next()

    # --- upgrade tunnels -------------------------------------------------------------------------

    def _start_tunnel(self, exchange: Exchange, response: Response, stack: Stack) -> None:
        tunnel = response.extra
        self._tunnel = tunnel
        self._phase = _BUSY
        self._flow.resume_reading(SHUTDOWN)
        status = response.status
        tunnel.bind_client(
            self,
            self._transport,
            self._flow,
            lambda: self._tunnel_done(exchange, stack, status, tunnel.from_upstream_bytes),
        )
        if self._upgrade_rest:
            tunnel.from_client(self._upgrade_rest)
            self._upgrade_rest = b""

    def _tunnel_done(self, exchange: Exchange, stack: Stack, status: int, sent: int) -> None:
        stack.finish(exchange, status, sent, True)
        self._active = None
        self._release()
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
