"""A raw byte tunnel between a client and an upstream after `101 Switching Protocols`.

Used for WebSocket and any other `Upgrade` the client asked for (never `h2c`). Bytes are copied
as they come, each direction pausing its source when the destination's write buffer is full.
Either side closing closes both.

This module must never interpret the tunnelled bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from meshproxy.http.flow import PEER_SLOW, FlowControl
from meshproxy.upstream.connection import UpstreamConnection


class Tunnel:
    __slots__ = ("_client", "_client_flow", "_done", "_pending", "_upstream")

    def __init__(self, upstream: UpstreamConnection) -> None:
        self._upstream = upstream
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
        client.write(data)
        flow = self._client_flow
        if flow is not None and flow.write_paused:
            upstream_flow = self._upstream.flow
            upstream_flow.pause_reading(PEER_SLOW)
            flow.when_writable(lambda: upstream_flow.resume_reading(PEER_SLOW))

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
