"""One client connection of a passthrough listener: read the ClientHello (TLS), choose the
route, connect an endpoint, replay what was read, then splice both ways (`upstream.tunnel`).

- TLS: bytes are read (and kept) until the ClientHello is whole, bounded by the table's
  `max_hello_bytes` and by the listener's header timeout; a malformed, oversized or late hello,
  or a server name no route takes, closes the connection, counted by reason. TCP reads nothing
  before it connects.
- Reading is paused while the upstream connection is being made, so a client can never make
  the proxy hold more than the hello. The endpoint comes from the cluster's balancer (outlier
  ejections honoured, panic routing when all are out) and its pool (connect timeout, connection
  caps); a failed connect is reported to outlier detection and the next endpoint is tried, up to
  `CONNECT_ATTEMPTS` in all.
- After that the tunnel copies bytes with backpressure both ways and passes a FIN on (half
  close). A connection with no byte either way for the listener's idle timeout is closed.
- Admission and timeouts are the listener's guard's (`meshproxy.limits`), so connection caps
  hold here as on HTTP listeners. Each connection ends with one access log line.

This module must never interpret the bytes after the ClientHello, and never terminate TLS.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import cast

from meshproxy.http.flow import FlowControl
from meshproxy.limits import guard as limit
from meshproxy.policy.balancer import EndpointState
from meshproxy.server.state import ListenerState
from meshproxy.upstream.cluster import ClusterRuntime
from meshproxy.upstream.connection import UpstreamConnection
from meshproxy.upstream.errors import UpstreamFailure
from meshproxy.upstream.tunnel import Tunnel

from . import table as why
from .clienthello import MalformedHello, read_hello
from .table import PassthroughTable, RouteRuntime

CONNECT_ATTEMPTS = 3
# A connection made counts as a success for outlier detection (a response below 500 would).
_CONNECTED = 200
# A reason to pause reading of our own (`http.flow` bits 1-8 are the HTTP codecs').
_CONNECTING = 16


class PassthroughConnection(asyncio.Protocol):
    __slots__ = (
        "_admitted",
        "_buffer",
        "_client",
        "_cluster",
        "_connecting",
        "_ended",
        "_endpoint",
        "_eof_pending",
        "_flow",
        "_idle",
        "_idle_seen",
        "_listener",
        "_outcome",
        "_route",
        "_server_name",
        "_started",
        "_table",
        "_timer",
        "_transport",
        "_tunnel",
        "_upstream",
        "_wanted",
    )

    def __init__(self, listener: ListenerState, table: PassthroughTable) -> None:
        self._listener = listener
        self._table = table
        self._transport: asyncio.Transport | None = None
        self._flow: FlowControl | None = None
        self._buffer = b""
        self._client = ""
        self._admitted = False
        self._timer: asyncio.TimerHandle | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._idle_seen = -1
        self._connecting: asyncio.Task[None] | None = None
        self._tunnel: Tunnel | None = None
        self._route: RouteRuntime | None = None
        self._cluster = ""
        self._endpoint: EndpointState | None = None  # counted in its active_requests meanwhile
        self._upstream = ""
        self._server_name: str | None = None
        self._outcome = ""  # a refusal reason; empty once forwarded
        self._started = time.perf_counter()
        self._ended = False
        self._eof_pending = False
        self._wanted = 1  # bytes the hello parser needs before it can say more

    # --- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport = transport
        self._flow = FlowControl(transport)
        guard = self._listener.guard
        peer = transport.get_extra_info("peername")
        self._client = peer[0] if peer else ""
        refused = guard.admit(self._client)
        if refused is not None:
            guard.hit(refused, self._client)
            self._ended = True  # refused at the door: the guard logged it
            transport.abort()
            return
        self._admitted = True
        self._listener.connections.add(self)
        if self._table.protocol == "TCP":
            only = self._table.only
            if only is None:
                self._refuse(why.NO_ROUTE)  # no Route (or none with a backend) takes it
                return
            self._connect(only)
            # uvloop starts reading a new connection after `connection_made` returns, undoing
            # a pause made in it: pause on the next loop turn (bytes before it are kept).
            asyncio.get_running_loop().call_soon(self._pause_while_connecting)
            return
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(guard.limits.header_timeout, self._hello_timed_out)

    def data_received(self, data: bytes) -> None:
        tunnel = self._tunnel
        if tunnel is not None:
            tunnel.from_client(data)
            return
        buffer = self._buffer = self._buffer + data
        if self._route is not None or len(buffer) < self._wanted:
            return  # connecting (kept for the replay), or the hello's next record is not whole
        try:
            hello = read_hello(buffer, self._table.max_hello_bytes)
        except MalformedHello as exc:
            self._refuse(exc.reason)
            return
        if isinstance(hello, int):
            self._wanted = hello
            return
        self._cancel_timer()
        self._server_name = hello.server_name
        route = self._table.routes.pick(hello.server_name)
        if route is None:
            self._refuse(why.NO_ROUTE)
            return
        self._connect(route)

    def eof_received(self) -> bool | None:
        tunnel = self._tunnel
        if tunnel is not None:
            return tunnel.client_eof()
        if self._connecting is not None:
            self._eof_pending = True  # passed on once the upstream is connected
            return True
        return None  # before a route is chosen a FIN ends the connection

    def pause_writing(self) -> None:
        if self._flow is not None:
            self._flow.pause_writing()

    def resume_writing(self) -> None:
        if self._flow is not None:
            self._flow.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if self._flow is not None:
            self._flow.connection_lost()
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        tunnel = self._tunnel
        if tunnel is not None:
            tunnel.client_closed()
        if self._admitted:
            self._admitted = False
            self._listener.guard.leave(self._client)
        self._listener.connections.discard(self)
        self._end()

    # --- what the listener asks of every connection (`server.state.Closable`) -------------------

    def shutdown(self) -> None:
        """Draining: a connection not yet forwarded closes now; a spliced one gets the drain
        timeout (no request boundary to wait for in a byte stream)."""
        transport = self._transport
        if transport is None:
            return
        if self._tunnel is None:
            transport.close()
            return
        drain = self._listener.stack.limits.drain_timeout
        asyncio.get_running_loop().call_later(drain, transport.close)

    @property
    def busy(self) -> bool:
        return self._tunnel is not None

    # --- choosing and connecting -----------------------------------------------------------------

    def _connect(self, route: RouteRuntime) -> None:
        self._route = route
        self._connecting = asyncio.get_running_loop().create_task(self._open(route))
        self._pause_while_connecting()

    def _pause_while_connecting(self) -> None:
        flow = self._flow
        if flow is not None and self._tunnel is None and self._connecting is not None:
            flow.pause_reading(_CONNECTING)

    async def _open(self, route: RouteRuntime) -> None:
        table = self._table
        loop = asyncio.get_running_loop()
        reason = why.NO_ENDPOINT
        for _ in range(CONNECT_ATTEMPTS):
            cluster = table.clusters[route.clusters.pick(table.random())]
            endpoint = cluster.balancer.pick(None, loop.time())
            if endpoint is None:
                endpoint = cluster.balancer.pick(None, math.inf)  # every one ejected: panic
            if endpoint is None:
                break
            self._cluster = cluster.name
            self._upstream = cluster.labels[endpoint]
            try:
                conn = await cluster.pools[endpoint].acquire_fresh()
            except UpstreamFailure as failure:
                if failure.kind == "overflow":
                    reason = why.OVERFLOW
                    break
                reason = why.CONNECT_FAILURE
                if cluster.detector is not None:
                    cluster.detector.record(endpoint, None, loop.time())
                continue
            if cluster.detector is not None:
                cluster.detector.record(endpoint, _CONNECTED, loop.time())
            self._splice(conn, cluster, endpoint)
            return
        self._connecting = None
        self._refuse(reason)

    def _splice(
        self, conn: UpstreamConnection, cluster: ClusterRuntime, endpoint: EndpointState
    ) -> None:
        self._connecting = None
        transport = self._transport
        flow = self._flow
        if transport is None or flow is None or transport.is_closing():
            conn.abort()  # the client left while we connected
            return
        route = self._route
        assert route is not None
        route.connections.inc()
        endpoint.active_requests += 1  # LEAST_REQUEST balances open connections here
        self._endpoint = endpoint
        tunnel = self._tunnel = Tunnel(conn, half_close=True)
        tunnel.bind_client(self, transport, flow, transport.close)
        replay, self._buffer = self._buffer, b""
        if replay:
            tunnel.from_client(replay)
        flow.resume_reading(_CONNECTING)
        if self._eof_pending and not tunnel.client_eof():
            return  # both sides are done already
        idle = self._listener.guard.limits.idle_timeout
        if idle:
            self._idle = asyncio.get_running_loop().call_later(idle, self._idle_check, idle)

    # --- ending ----------------------------------------------------------------------------------

    def _idle_check(self, idle: float) -> None:
        """Closes a tunnel that moved no byte since the last check (so after `idle` to `2 x
        idle` of silence): a timer per connection, re-armed, never a clock read per chunk."""
        self._idle = None
        tunnel = self._tunnel
        transport = self._transport
        if tunnel is None or transport is None:
            return
        moved = tunnel.from_client_bytes + tunnel.from_upstream_bytes
        if moved == self._idle_seen:
            self._listener.guard.hit(limit.IDLE_TIMEOUT, self._client, log=False)
            transport.close()
            return
        self._idle_seen = moved
        self._idle = asyncio.get_running_loop().call_later(idle, self._idle_check, idle)

    def _hello_timed_out(self) -> None:
        self._timer = None
        self._listener.guard.hit(limit.HEADER_TIMEOUT, self._client, log=False)
        self._refuse(why.HELLO_TIMEOUT)

    def _refuse(self, reason: str) -> None:
        self._outcome = reason
        self._table.refused(reason)
        self._buffer = b""
        if self._transport is not None:
            self._transport.abort()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _end(self) -> None:
        """Account for the connection once: bytes by route, and one access log line."""
        if self._ended:
            return
        self._ended = True
        if self._endpoint is not None:
            self._endpoint.active_requests -= 1
            self._endpoint = None
        tunnel = self._tunnel
        up = tunnel.from_client_bytes if tunnel is not None else 0
        down = tunnel.from_upstream_bytes if tunnel is not None else 0
        route = self._route
        if route is not None and tunnel is not None:
            route.bytes_up.inc(up)
            route.bytes_down.inc(down)
        access_log = self._table.access_log
        if access_log is None:
            return
        access_log.write(
            {
                "event": "connection",
                "listener": self._table.listener,
                "protocol": self._table.protocol,
                "client": self._client,
                "sni": self._server_name,
                "route": route.name if route is not None else None,
                "cluster": self._cluster or None,
                "upstream": self._upstream or None,
                "result": self._outcome or ("forwarded" if tunnel is not None else "closed"),
                "bytes_from_client": up,
                "bytes_to_client": down,
                "duration": round(time.perf_counter() - self._started, 6),
            }
        )
