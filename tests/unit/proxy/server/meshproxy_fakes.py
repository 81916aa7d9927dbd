"""Fake transports and stacks for driving protocols without sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from meshproxy import config
from meshproxy.http.message import Exchange, Request, Response
from meshproxy.server.protocol import HttpServerProtocol
from meshproxy.server.state import ListenerState


class FakeTransport:
    def __init__(self, peer: tuple[str, int] = ("127.0.0.9", 5555)) -> None:
        self.written: list[bytes] = []
        self.reading = True
        self.closed = False
        self.peer = peer
        self.pause_calls = 0
        self.aborted = False
        self.high_water: int | None = None
        self.unsent = 0  # what `get_write_buffer_size` reports: set by a test that needs it

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.written.append(bytes(data))

    def data(self) -> bytes:
        return b"".join(self.written)

    def pause_reading(self) -> None:
        self.pause_calls += 1
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True
        self.aborted = True

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.high_water = high

    def get_write_buffer_size(self) -> int:
        return self.unsent

    def is_closing(self) -> bool:
        return self.closed

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": self.peer, "sockname": ("127.0.0.1", 8080)}.get(name, default)


Handler = Callable[[Request], Awaitable[Response]]
"""What a test answers with, given the request message the server parsed."""


class FakeStack:
    start = None  # every request through `handle`, in a Task
    connect = None  # no CONNECT chain: CONNECT is refused, as at the edge

    def __init__(self, handler: Handler | None = None, **limits: Any) -> None:
        self.limits = config.Limits(**limits)
        self.seen: list[Request] = []
        self.finished: list[tuple[str, int, bool]] = []
        self.rejections: list[int] = []
        self._handler = handler

    async def handle(self, exchange: Exchange) -> Response:
        request = exchange.request
        self.seen.append(request)
        if self._handler is not None:
            return await self._handler(request)
        return Response(200, [("x-path", request.path)], b"ok:" + request.path.encode())

    def finish(self, exchange: Exchange, status: int, sent: int, ok: bool) -> None:
        self.finished.append((exchange.request.path, status, ok))

    def rejected(self, status: int) -> None:
        self.rejections.append(status)


def connect(stack: FakeStack) -> tuple[HttpServerProtocol, FakeTransport]:
    state = ListenerState(stack, "http")  # type: ignore[arg-type]
    protocol = HttpServerProtocol(state)
    transport = FakeTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport


async def settle(rounds: int = 20) -> None:
    """Let scheduled tasks and callbacks run."""
    for _ in range(rounds):
        await asyncio.sleep(0)
