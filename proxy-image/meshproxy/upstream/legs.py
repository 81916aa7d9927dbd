"""The upstream leg of a CONNECT tunnel: a connection of its own to one endpoint, spliced by
`upstream.tunnel.Tunnel`.

- `plain`: TCP to the endpoint itself (a destination outside the mesh, or a sidecar's inbound
  side reaching its app).
- `mesh`: mTLS to the endpoint's sidecar (the cluster's mesh pool: the workload identity, the
  peer checked by SPIFFE ID), then `CONNECT` with the target port, as the sidecar's HTTP
  requests carry it; the peer's inbound side authorizes the caller's identity and answers
  `200` once its own leg to the app is open. Any other answer is passed back to the client.

Both count against the endpoint pool's `maxConnections` until they close, and pass each side's
FIN on (`Tunnel(half_close=True)`). `IdleWatch` closes a tunnel where no byte moved either way
for its timeout, reading the tunnel's byte counts on a timer (never per chunk). This module must
never decide where a tunnel goes: the caller picked the endpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from meshproxy.http1.connect import MAX_REPLY_HEAD, connect_head, read_reply_status
from meshproxy.upstream.connection import UpstreamConnection
from meshproxy.upstream.errors import UpstreamFailure
from meshproxy.upstream.pool import EndpointPool
from meshproxy.upstream.tunnel import Tunnel


class RefusedByPeer(Exception):
    """The mesh peer answered CONNECT with something other than 2xx: the client gets it too."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


Idle = tuple[float, Callable[[], None]] | None
"""A tunnel's idle timeout and what to tell when it fires; None: no timeout."""


async def plain(pool: EndpointPool, idle: Idle) -> Tunnel:
    conn = await pool.open_new()
    return _spliced(conn, idle)


async def mesh(pool: EndpointPool, authority: str, extra: str, idle: Idle) -> Tunnel:
    """`extra`: the header lines naming the target port (`EndpointTarget.extra`). The peer's
    answer is awaited for at most the pool's connect timeout: it comes once the peer's own leg
    to the app is open."""
    head = connect_head(authority, extra)
    if head is None:
        raise UpstreamFailure("protocol")
    conn = await pool.open_new()
    reply = _Reply(conn)
    assert conn.transport is not None
    conn.transport.write(head)
    try:
        status = await asyncio.wait_for(reply.waiter, pool.cfg.connect_timeout)
    except TimeoutError:
        conn.abort()
        raise UpstreamFailure("timeout") from None
    except BaseException:
        conn.abort()
        raise
    if not 200 <= status < 300:
        conn.abort()
        if status == 0:
            raise UpstreamFailure("protocol")
        raise RefusedByPeer(status)
    conn.upgrade_rest = reply.rest  # with whatever came while this task was waking up
    return _spliced(conn, idle)


def _spliced(conn: UpstreamConnection, idle: Idle) -> Tunnel:
    tunnel = Tunnel(conn, half_close=True)
    if idle is not None:
        IdleWatch(tunnel, conn, *idle)
    return tunnel


class _Reply:
    """Reads the peer's answer head to CONNECT, and hands over what came after it."""

    __slots__ = ("_buffer", "rest", "waiter")

    def __init__(self, conn: UpstreamConnection) -> None:
        self._buffer = b""
        self.rest = b""  # tunnel bytes after the head
        self.waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        conn.tunnel = self

    def from_upstream(self, data: bytes) -> None:
        if self.waiter.done():
            self.rest += data
            return
        buffer = self._buffer + data
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            self._buffer = buffer
            if len(buffer) > MAX_REPLY_HEAD:
                self.waiter.set_result(0)
            return
        self.rest = buffer[end + 4 :]
        self.waiter.set_result(read_reply_status(buffer[:end]))

    def upstream_eof(self) -> bool | None:
        self.upstream_closed()
        return None

    def upstream_closed(self) -> None:
        if not self.waiter.done():
            self.waiter.set_exception(UpstreamFailure("reset"))


class IdleWatch:
    """Every `timeout` seconds: a tunnel whose byte counts did not move since the last look is
    closed (both sides), and `on_idle` is told first. Stops once the upstream leg has closed."""

    __slots__ = ("_conn", "_handle", "_last", "_on_idle", "_timeout", "_tunnel")

    def __init__(
        self, tunnel: Tunnel, conn: UpstreamConnection, timeout: float, on_idle: Callable[[], None]
    ) -> None:
        self._tunnel = tunnel
        self._conn = conn
        self._timeout = timeout
        self._on_idle = on_idle
        self._last = tunnel.from_client_bytes + tunnel.from_upstream_bytes
        self._handle = asyncio.get_running_loop().call_later(timeout, self._look)

    def _look(self) -> None:
        if self._conn.closed:
            return
        tunnel = self._tunnel
        moved = tunnel.from_client_bytes + tunnel.from_upstream_bytes
        if moved == self._last:
            self._on_idle()
            tunnel.client_closed()  # aborts the upstream leg; the client is closed by `done`
            return
        self._last = moved
        self._handle = asyncio.get_running_loop().call_later(self._timeout, self._look)
