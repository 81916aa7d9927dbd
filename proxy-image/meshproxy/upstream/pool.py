"""A keep-alive connection pool for one upstream endpoint, with its circuit-breaking limits.

The limits are per endpoint: a cluster of N endpoints holds up to N x `maxConnections`.

Limits (`config.ConnectionPool`): at most `maxConnections` open or opening; at most
`maxPendingRequests` waiting for one (beyond that: `overflow`, answered 503 at once);
a connection retires after `maxRequestsPerConnection`; an idle one is closed after `idleTimeout`
(checked when it would be reused, and by `sweep`, which the cluster calls periodically).
Idle connections are reused most-recent first, so a quiet pool shrinks to what the load needs.

This module must never retry or pick endpoints; it only hands out connections.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import TYPE_CHECKING

from meshproxy import config
from meshproxy.tls.resumption import LastSession, offering
from meshproxy.upstream.connection import UpstreamConnection
from meshproxy.upstream.errors import UpstreamFailure

if TYPE_CHECKING:
    from meshproxy.observability.metrics import PoolStats
    from meshproxy.upstream.clienttls import ClientTLS


class EndpointPool:
    __slots__ = (
        "_closed",
        "_idle",
        "_loop",
        "_pending",
        "_session",
        "_total",
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
        self._idle: list[UpstreamConnection] = []
        self._pending: deque[asyncio.Future[UpstreamConnection]] = deque()
        self._total = 0
        self._closed = False
        # MESH only: the next new connection offers the last one's session (bench/mtls: a
        # resumed handshake costs the peer about a third less CPU than a full one).
        self._session = LastSession() if tls is not None and tls.mesh else None

    @property
    def open_connections(self) -> int:
        return self._total

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    def acquire_idle(self) -> UpstreamConnection | None:
        """A live idle connection, or None. Synchronous: the common case costs no await."""
        idle = self._idle
        if not idle:
            return None
        deadline = self._loop.time() - self.cfg.idle_timeout
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.idle_since >= deadline:
                return conn
            self._retire(conn)
        return None

    async def acquire(self) -> UpstreamConnection:
        conn = self.acquire_idle()
        if conn is not None:
            return conn
        if self._closed:
            raise UpstreamFailure("connect-failure")
        if self._total < self.cfg.max_connections:
            return await self._connect()
        if len(self._pending) >= self.cfg.max_pending_requests:
            if self.stats is not None:
                self.stats.overflowed += 1
            raise UpstreamFailure("overflow")
        waiter: asyncio.Future[UpstreamConnection] = self._loop.create_future()
        self._pending.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(waiter.result(), True)
            raise

    async def acquire_fresh(self) -> UpstreamConnection:
        """A new connection when the limit allows (after a reused one died), else any."""
        if not self._closed and self._total < self.cfg.max_connections:
            return await self._connect()
        return await self.acquire()

    async def open_new(self) -> UpstreamConnection:
        """A connection of its own for a tunnel: never an idle one, whose peer expects HTTP.
        It counts against `maxConnections` until it closes; past the limit: `overflow`."""
        if self._closed:
            raise UpstreamFailure("connect-failure")
        if self._total >= self.cfg.max_connections:
            if self.stats is not None:
                self.stats.overflowed += 1
            raise UpstreamFailure("overflow")
        return await self._connect(raw=True)

    async def _connect(self, raw: bool = False) -> UpstreamConnection:
        self._total += 1
        if self.stats is not None:
            self.stats.opened += 1
        tls = self.tls
        try:
            context = tls.context() if tls is not None else None
            session = None
            if self._session is not None and context is not None:
                session = self._session.offer(context)
            with offering(session):
                transport, conn = await asyncio.wait_for(
                    self._loop.create_connection(
                        lambda: UpstreamConnection(self, raw),
                        self.address,
                        self.port,
                        ssl=context,
                        server_hostname=self.server_hostname,
                    ),
                    self.cfg.connect_timeout,
                )
        except (OSError, TimeoutError, ssl.SSLError):
            self._total -= 1
            self._wake_pending()
            raise UpstreamFailure("connect-failure") from None
        except BaseException:
            self._total -= 1
            self._wake_pending()
            raise
        if tls is not None and not tls.peer_ok(transport.get_extra_info("ssl_object")):
            # Verified by the CA but not who this cluster expects: `lost` does the accounting.
            transport.abort()
            raise UpstreamFailure("connect-failure")
        return conn

    def release(self, conn: UpstreamConnection, reusable: bool) -> None:
        if self._session is not None and conn.requests == 1 and conn.transport is not None:
            # A response has been read, so the ticket sent after the handshake has been too.
            self._session.keep(conn.transport.get_extra_info("ssl_object"))
        limit = self.cfg.max_requests_per_connection
        if not reusable or conn.closed or self._closed or (limit and conn.requests >= limit):
            self._retire(conn)
            return
        while self._pending:
            waiter = self._pending.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        conn.idle_since = self._loop.time()
        self._idle.append(conn)

    def lost(self, conn: UpstreamConnection) -> None:
        """The connection closed (either side); forget it."""
        if conn in self._idle:
            self._idle.remove(conn)
        self._total -= 1
        if self.stats is not None:
            self.stats.closed += 1
        self._wake_pending()

    def _retire(self, conn: UpstreamConnection) -> None:
        if not conn.closed and conn.transport is not None:
            conn.transport.close()  # `lost` is called back and does the accounting

    def _wake_pending(self) -> None:
        """A slot opened: start a connection for the oldest waiter."""
        while self._pending and self._total < self.cfg.max_connections:
            waiter = self._pending.popleft()
            if waiter.done():
                continue
            self._loop.create_task(self._connect_for(waiter))
            return

    async def _connect_for(self, waiter: asyncio.Future[UpstreamConnection]) -> None:
        try:
            conn = await self._connect()
        except UpstreamFailure as exc:
            if not waiter.done():
                waiter.set_exception(exc)
            return
        if waiter.done():
            self.release(conn, True)
        else:
            waiter.set_result(conn)

    def sweep(self) -> None:
        """Close connections idle for longer than the idle timeout."""
        deadline = self._loop.time() - self.cfg.idle_timeout
        keep: list[UpstreamConnection] = []
        for conn in self._idle:
            if conn.idle_since < deadline:
                self._retire(conn)
            else:
                keep.append(conn)
        self._idle[:] = keep

    def close(self) -> None:
        """No new connections; idle ones close now, busy ones when their exchange ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            self._retire(conn)
        while self._pending:
            waiter = self._pending.popleft()
            if not waiter.done():
                waiter.set_exception(UpstreamFailure("connect-failure"))
