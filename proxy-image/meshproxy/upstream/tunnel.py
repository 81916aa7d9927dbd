"""A raw byte tunnel between a client and an upstream after `101 Switching Protocols`.

Used for WebSocket and any other `Upgrade` the client asked for (never `h2c`), and for TCP and
TLS passthrough listeners (`meshproxy.passthrough`). Bytes are copied as they come, each
direction pausing its source when the destination's write buffer is full, and counted. Either
side closing closes both; with `half_close`, a FIN from one side is passed on to the other and
both close once both have sent one (what a TCP proxy owes a client that shuts down its writes);
a side that cannot half-close (TLS: a sidecar's mTLS legs) is closed instead, after its buffered
bytes, which ends the tunnel.

This module must never interpret the tunnelled bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from meshproxy.http.flow import PEER_SLOW, FlowControl
from meshproxy.upstream.connection import UpstreamConnection


class Tunnel:
    __slots__ = (
        "_client",
        "_client_eof",
        "_client_flow",
        "_done",
        "_half_close",
        "_pending",
        "_upstream",
        "_upstream_eof",
        "from_client_bytes",
        "from_upstream_bytes",
    )

    def __init__(self, upstream: UpstreamConnection, half_close: bool = False) -> None:
        self._upstream = upstream
        self._half_close = half_close
        self._client_eof = False
        self._upstream_eof = False
        self.from_client_bytes = 0
        self.from_upstream_bytes = 0
        self._client: asyncio.Transport | None = None
        self._client_flow: FlowControl | None = None
        self._done: Callable[[], None] | None = None
        self._pending: list[bytes] = [upstream.upgrade_rest] if upstream.upgrade_rest else []
        upstream.tunnel = self

    def bind_client(
        self,
        protocol: Any,
        transport: asyncio.Transport | None,
        flow: FlowControl,
        done: Callable[[], None],
    ) -> None:
        self._client = transport
        self._client_flow = flow
        self._done = done
        for data in self._pending:
            self.from_upstream(data)
        self._pending = []
        if self._upstream.closed:
            self.upstream_closed()

    def from_client(self, data: bytes) -> None:
        transport = self._upstream.transport
        if transport is None or self._upstream.closed or not data:
            return
        self.from_client_bytes += len(data)
        transport.write(data)
        if self._upstream.flow.write_paused and self._client_flow is not None:
            flow = self._client_flow
            flow.pause_reading(PEER_SLOW)
            self._upstream.flow.when_writable(lambda: flow.resume_reading(PEER_SLOW))

    def from_upstream(self, data: bytes) -> None:
        client = self._client
        if client is None:
            self._pending.append(data)
            return
        if client.is_closing():
            return
        self.from_upstream_bytes += len(data)
        client.write(data)
        flow = self._client_flow
        if flow is not None and flow.write_paused:
            upstream_flow = self._upstream.flow
            upstream_flow.pause_reading(PEER_SLOW)
            flow.when_writable(lambda: upstream_flow.resume_reading(PEER_SLOW))

    def client_eof(self) -> bool:
        """The client sent FIN. True: keep its transport open (the FIN went upstream)."""
        transport = self._upstream.transport
        if not self._half_close or transport is None or self._upstream.closed:
            return False
        self._client_eof = True
        if not transport.can_write_eof():
            # TLS cannot half-close: end the upstream once what is buffered is sent; its close
            # ends the tunnel, and the client stays open until then to get the last bytes.
            transport.close()
            return True
        transport.write_eof()
        return self._both_done()

    def upstream_eof(self) -> bool | None:
        """The upstream sent FIN. True: keep its transport open (the FIN went to the client)."""
        client = self._client
        if not self._half_close or client is None or client.is_closing():
            return None
        self._upstream_eof = True
        if not client.can_write_eof():
            client.close()  # TLS cannot half-close: end the client once what is buffered is sent
            return None
        client.write_eof()
        return self._both_done() or None

    def _both_done(self) -> bool:
        """Both sides have sent FIN: close both (buffered bytes are still written)."""
        if not (self._client_eof and self._upstream_eof):
            return True
        if self._client is not None:
            self._client.close()
        transport = self._upstream.transport
        if transport is not None:
            transport.close()
        return False

    def client_closed(self) -> None:
        self._upstream.abort()
        self._finish()

    def upstream_closed(self) -> None:
        if self._client is None:
            return
        self._finish()

    def _finish(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done()
