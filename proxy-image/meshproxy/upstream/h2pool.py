"""A pool of multiplexed HTTP/2 connections to one upstream endpoint: it counts streams.

`acquire` reserves one stream on a connection that has room for it (under the upstream's
SETTINGS_MAX_CONCURRENT_STREAMS), opening a new connection only when every open one is full.
Limits (`config.ConnectionPool`): at most `http2MaxRequests` streams in flight to the endpoint
(Istio's meaning), over at most `maxConnections` connections; beyond that requests wait, at most
`maxPendingRequests` of them (more: `overflow`, answered 503); a connection that has carried
`maxRequestsPerConnection` streams takes no more and closes when its last one ends; one with no
stream for `idleTimeout` is closed by `sweep`.

This module must never retry or pick endpoints; it only hands out streams.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import TYPE_CHECKING

from meshproxy import config
from meshproxy.upstream.errors import UpstreamFailure

if TYPE_CHECKING:
    from meshproxy.observability.metrics import PoolStats
    from meshproxy.upstream.clienttls import ClientTLS
    from meshproxy.upstream.h2connection import H2UpstreamConnection


class H2Pool:
    __slots__ = (
        "_closed",
        "_connecting",
        "_conns",
        "_failure",
        "_loop",
        "_pending",
        "active",
        "address",
        "cfg",
        "port",
        "server_hostname",
        "stats",
        "tls",
    )

    def __init__(
        self,
        address: str,
        port: int,
        cfg: config.ConnectionPool,
        tls: ClientTLS | None = None,
        stats: PoolStats | None = None,
    ) -> None:
        self.address = address
        self.port = port
        self.cfg = cfg
        self.tls = tls
        self.server_hostname = tls.server_hostname(address) if tls is not None else None
        self.stats = stats
        self._loop = asyncio.get_running_loop()
        self._conns: list[H2UpstreamConnection] = []
        self._connecting: asyncio.Task[None] | None = None
        self._pending: deque[asyncio.Future[None]] = deque()
        self._failure: UpstreamFailure | None = None
        self._closed = False
        self.active = 0  # streams reserved or in flight

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    async def acquire(self) -> H2UpstreamConnection:
        """A connection with one stream reserved for the caller (released by the connection
        through `stream_done` when the stream ends)."""
        while True:
            conn = self._slot()
            if conn is not None:
                return conn
            if self._closed:
                raise UpstreamFailure("connect-failure")
            if (
                self._connecting is None
                and len(self._conns) < self.cfg.max_connections
                and self.active < self.cfg.http2_max_requests
            ):
                self._failure = None
                self._connecting = self._loop.create_task(self._connect())
            if len(self._pending) >= self.cfg.max_pending_requests:
                if self.stats is not None:
                    self.stats.overflowed += 1
                raise UpstreamFailure("overflow")
            waiter: asyncio.Future[None] = self._loop.create_future()
            self._pending.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._pending:
                    self._pending.remove(waiter)

    def _slot(self) -> H2UpstreamConnection | None:
        if self.active >= self.cfg.http2_max_requests:
            return None
        per_conn = self.cfg.max_requests_per_connection
        for conn in self._conns:
            if conn.usable and conn.load < conn.max_streams:
                if per_conn and conn.granted >= per_conn:
                    continue
                conn.granted += 1
                conn.load += 1
                self.active += 1
                return conn
        return None

    async def _connect(self) -> None:
        if self.stats is not None:
            self.stats.opened += 1
        # Imported at the first connection, not with this module: a sidecar's inbound clusters
        # have HTTP/2 pools for callers that speak it, and a Pod whose callers never do should not
        # hold the `h2` library (1.3 MiB). When a caller did, its connection loaded `h2` already.
        from meshproxy.upstream.h2connection import H2UpstreamConnection

        tls = self.tls
        try:
            context = tls.context() if tls is not None else None
            transport, conn = await asyncio.wait_for(
                self._loop.create_connection(
                    lambda: H2UpstreamConnection(self),
                    self.address,
                    self.port,
                    ssl=context,
                    server_hostname=self.server_hostname,
                ),
                self.cfg.connect_timeout,
            )
        except (OSError, TimeoutError, ssl.SSLError):
            self._connect_failed()
            return
        finally:
            self._connecting = None
        ssl_object = transport.get_extra_info("ssl_object")
        if tls is not None and (
            not tls.peer_ok(ssl_object) or ssl_object.selected_alpn_protocol() != "h2"
        ):
            transport.abort()  # not who this cluster expects, or no HTTP/2 there
            self._connect_failed()
            return
        conn.idle_since = self._loop.time()
        self._conns.append(conn)
        self.wake()

    def _connect_failed(self) -> None:
        failure = UpstreamFailure("connect-failure")
        pending, self._pending = self._pending, deque()
        for waiter in pending:
            if not waiter.done():
                waiter.set_exception(failure)

    def stream_done(self, conn: H2UpstreamConnection) -> None:
        conn.load -= 1
        self.active -= 1
        per_conn = self.cfg.max_requests_per_connection
        if per_conn and conn.granted >= per_conn and conn.usable:
            conn.close()
        self.wake()

    def wake(self) -> None:
        """Room may have opened (a stream ended, a connection or its SETTINGS arrived): let
        the waiters look again, oldest first."""
        for waiter in self._pending:
            if not waiter.done():
                waiter.set_result(None)

    def lost(self, conn: H2UpstreamConnection) -> None:
        if conn in self._conns:
            self._conns.remove(conn)
            if self.stats is not None:
                self.stats.closed += 1
        self.wake()

    def sweep(self) -> None:
        """Close connections that carried no stream for longer than the idle timeout."""
        deadline = self._loop.time() - self.cfg.idle_timeout
        for conn in list(self._conns):
            if conn.load == 0 and conn.idle_since < deadline:
                conn.close()

    def close(self) -> None:
        """No new streams; idle connections close now, busy ones when their streams end."""
        self._closed = True
        for conn in list(self._conns):
            conn.close()
        self._connect_failed_quietly()

    def _connect_failed_quietly(self) -> None:
        pending, self._pending = self._pending, deque()
        for waiter in pending:
            if not waiter.done():
                waiter.set_exception(UpstreamFailure("connect-failure"))
