"""One HTTP/2 connection to an upstream endpoint, carrying many requests at once.

`request` opens a stream: the header list in one HEADERS frame, the body (already complete, or
streaming) as DATA frames within the upstream's windows (`http2.streams.StreamSender`). It
returns a future of the response head; the response body streams into a `Body` whose producer
is the stream's receive window, so a slow client slows this stream alone. Trailers are carried
on the body (`Body.trailers`); a gRPC status, in the trailers or in the head of a response
that has no body, is recorded on the exchange.

A stream the upstream refuses (RST_STREAM REFUSED_STREAM) or never started (above the last
stream id of its GOAWAY) fails as `reused`: it never reached the application, so it may be
sent again on another connection. The pool (`h2pool`) counts the streams.

This module must never decide policy: it reports failures as `UpstreamFailure`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, cast

from h2 import events as ev
from h2.errors import ErrorCodes
from h2.exceptions import H2Error, ProtocolError

from meshproxy.config import Http2Limits
from meshproxy.http.body import Body, BodyError
from meshproxy.http.flow import FlowControl
from meshproxy.http.message import Exchange, Response
from meshproxy.http2 import grpc
from meshproxy.http2.connection import client_side, start
from meshproxy.http2.headers import Headers, response_fields, trailer_fields
from meshproxy.http2.streams import StreamReader, StreamSender
from meshproxy.upstream.errors import UpstreamFailure

if TYPE_CHECKING:
    from meshproxy.upstream.h2pool import H2Pool

# Streams opened before the upstream's SETTINGS say how many it takes (RFC 9113 §6.5.2
# recommends at least 100).
_FIRST_STREAMS = 100
_LIMITS = Http2Limits()
_MAX_HEADER_LIST = 64 * 1024


class _UpStream:
    __slots__ = (
        "body",
        "exchange",
        "future",
        "reader",
        "request_done",
        "response_done",
        "sender",
    )

    def __init__(self, future: asyncio.Future[Response], reader: StreamReader, exchange: Exchange):
        self.future = future
        self.reader = reader
        self.exchange = exchange
        self.body: Body | None = None
        self.sender: StreamSender | None = None
        self.request_done = True
        self.response_done = False


class H2UpstreamConnection(asyncio.Protocol):
    def __init__(self, pool: H2Pool) -> None:
        self.pool = pool
        self._loop = asyncio.get_running_loop()
        self._streams: dict[int, _UpStream] = {}
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.goaway = False
        self.load = 0  # streams reserved by the pool (open, or about to be)
        self.opened = 0  # streams ever opened here
        self.granted = 0  # streams the pool ever reserved here (maxRequestsPerConnection)
        self.idle_since = 0.0
        self._settings_seen = False

    # --- Link (http2.streams) ----------------------------------------------------------------

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def now(self) -> float:
        return self._loop.time()

    # --- lifetime -----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        self.flow = FlowControl(transport)
        self.h2 = client_side(_LIMITS, _MAX_HEADER_LIST)
        start(self.h2, _LIMITS)
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.flow.connection_lost()
        for sid, stream in list(self._streams.items()):
            self._fail(sid, stream, UpstreamFailure("reset"))
        self.pool.lost(self)

    def pause_writing(self) -> None:
        self.flow.pause_writing()

    def resume_writing(self) -> None:
        self.flow.resume_writing()

    @property
    def max_streams(self) -> int:
        if not self._settings_seen:
            return _FIRST_STREAMS
        return int(self.h2.remote_settings.max_concurrent_streams)

    @property
    def usable(self) -> bool:
        return not self.closed and not self.goaway

    def close(self) -> None:
        """Retire: GOAWAY now, close once the streams in flight have ended."""
        self.goaway = True
        with contextlib.suppress(H2Error):
            self.h2.close_connection()
            self.flush()
        if not self._streams and self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()

    # --- sending ------------------------------------------------------------------------------

    def request(
        self, headers: Headers, body: Body | None, head_request: bool, exchange: Exchange
    ) -> asyncio.Future[Response]:
        """Open a stream for one request (the pool has reserved it a slot)."""
        future: asyncio.Future[Response] = self._loop.create_future()
        if not self.usable:
            future.set_exception(UpstreamFailure("reset", reused=True))
            self.pool.stream_done(self)
            return future
        h2 = self.h2
        sid = h2.get_next_available_stream_id()
        stream = _UpStream(future, StreamReader(self, sid), exchange)
        self._streams[sid] = stream
        self.opened += 1
        empty = body is None or (body.complete and not body.buffered() and not body.trailers)
        try:
            h2.send_headers(sid, headers, end_stream=empty)
        except H2Error:
            self._fail(sid, stream, UpstreamFailure("protocol"))
            self.flush()
            return future
        if not empty:
            assert body is not None
            stream.request_done = False
            sender = StreamSender(self, sid, body, lambda sent, ok: self._sent(sid, ok))
            stream.sender = sender
            if body.complete:
                sender.write(body.buffered())  # kept buffered: a retry sends it again
                sender.end()
            else:
                body.attach(sender)
        self.flush()
        return future

    def cancel(self, future: asyncio.Future[Response]) -> None:
        """The exchange waiting for `future` gave up (a timeout): reset its stream."""
        for sid, stream in list(self._streams.items()):
            if stream.future is future:
                self._reset(sid, stream)
                return

    def _sent(self, sid: int, ok: bool) -> None:
        stream = self._streams.get(sid)
        if stream is None:
            return
        if not ok and not stream.response_done:
            self._reset(sid, stream)
            return
        stream.request_done = True
        if stream.response_done:
            self._forget(sid, stream)

    def _reset(self, sid: int, stream: _UpStream) -> None:
        with contextlib.suppress(H2Error):
            self.h2.reset_stream(sid, ErrorCodes.CANCEL)
            self.flush()
        self._fail(sid, stream, UpstreamFailure("reset"))

    def _fail(self, sid: int, stream: _UpStream, failure: UpstreamFailure) -> None:
        if not stream.future.done():
            stream.future.set_exception(failure)
            stream.future.exception()  # retrieved: a waiter cancelled meanwhile is not an error
        if stream.body is not None and not stream.body.done:
            stream.body.fail(BodyError("upstream stream reset"))
        if stream.sender is not None and not stream.sender.finished:
            stream.sender.abort()
        self._forget(sid, stream)

    def _forget(self, sid: int, stream: _UpStream) -> None:
        if self._streams.get(sid) is stream:
            del self._streams[sid]
            stream.reader.release()
            self.pool.stream_done(self)
            if not self._streams:
                self.idle_since = self._loop.time()
                if self.goaway and self.transport is not None:
                    self.transport.close()

    # --- reading ------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        try:
            events = self.h2.receive_data(data)
        except ProtocolError:
            self.flush()
            self.abort()
            return
        for event in events:
            handler = _HANDLERS.get(type(event))
            if handler is not None:
                handler(self, event)
        self.flush()

    def _on_response(self, event: ev.ResponseReceived) -> None:
        sid = event.stream_id
        stream = self._streams.get(sid)
        if stream is None:
            return
        fields = response_fields(event.headers)
        if fields is None:
            with contextlib.suppress(H2Error):
                self.h2.reset_stream(sid, ErrorCodes.PROTOCOL_ERROR)
            self._fail(sid, stream, UpstreamFailure("protocol"))
            return
        status, headers, length = fields
        status_grpc = grpc.status_of(headers)
        if status_grpc:
            stream.exchange.grpc_status = status_grpc  # a response with no body: its outcome
        body = Body(stream.reader, length, lambda: self._abandoned(sid))
        stream.body = body
        if not stream.future.done():
            stream.future.set_result(Response(status, headers, body))

    def _abandoned(self, sid: int) -> None:
        """Nobody reads the rest of the response body: reset the stream."""
        stream = self._streams.get(sid)
        if stream is not None:
            self._reset(sid, stream)

    def _on_data(self, event: ev.DataReceived) -> None:
        stream = self._streams.get(event.stream_id)
        if stream is None or stream.body is None:
            with contextlib.suppress(H2Error):
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            return
        if not stream.body.done:
            stream.body.feed(event.data)
        stream.reader.received(event.flow_controlled_length)

    def _on_trailers(self, event: ev.TrailersReceived) -> None:
        stream = self._streams.get(event.stream_id)
        if stream is None or stream.body is None:
            return
        trailers = trailer_fields(event.headers)
        stream.body.trailers = trailers
        status_grpc = grpc.status_of(trailers)
        if status_grpc:
            stream.exchange.grpc_status = status_grpc

    def _on_end(self, event: ev.StreamEnded) -> None:
        sid = event.stream_id
        stream = self._streams.get(sid)
        if stream is None:
            return
        stream.response_done = True
        body = stream.body
        if body is not None and not body.done:
            body.finish()
        if stream.request_done:
            self._forget(sid, stream)
        elif stream.sender is not None:
            # RFC 9113 §8.1: a complete response ends the exchange; the rest of the request
            # body is not wanted.
            stream.sender.abort(ErrorCodes.NO_ERROR)

    def _on_reset(self, event: ev.StreamReset) -> None:
        stream = self._streams.get(event.stream_id)
        if stream is None:
            return
        refused = event.error_code == ErrorCodes.REFUSED_STREAM
        self._fail(event.stream_id, stream, UpstreamFailure("reset", reused=refused))

    def _on_window(self, event: ev.WindowUpdated) -> None:
        streams = (
            [self._streams[event.stream_id]]
            if event.stream_id in self._streams
            else list(self._streams.values())
            if not event.stream_id
            else []
        )
        for stream in streams:
            if stream.sender is not None:
                stream.sender.pump()

    def _on_settings(self, event: ev.RemoteSettingsChanged) -> None:
        self._settings_seen = True
        self.pool.wake()

    def _on_goaway(self, event: ev.ConnectionTerminated) -> None:
        self.goaway = True
        last = event.last_stream_id if event.last_stream_id is not None else 0
        for sid, stream in list(self._streams.items()):
            if sid > last:
                self._fail(sid, stream, UpstreamFailure("reset", reused=True))
        self.pool.wake()
        if not self._streams and self.transport is not None:
            self.transport.close()


_HANDLERS: dict[type, Any] = {
    ev.ResponseReceived: H2UpstreamConnection._on_response,
    ev.DataReceived: H2UpstreamConnection._on_data,
    ev.TrailersReceived: H2UpstreamConnection._on_trailers,
    ev.StreamEnded: H2UpstreamConnection._on_end,
    ev.StreamReset: H2UpstreamConnection._on_reset,
    ev.WindowUpdated: H2UpstreamConnection._on_window,
    ev.RemoteSettingsChanged: H2UpstreamConnection._on_settings,
    ev.ConnectionTerminated: H2UpstreamConnection._on_goaway,
}
