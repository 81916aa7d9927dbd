"""A client whose request stays incomplete is read by its listener's slow lane, on uvloop's real
transports: held once a read left its head incomplete for `slow_after`, read at most `PER_TURN`
held connections per loop turn (so a burst of slowloris lines never queues a well-behaved
request behind all of them), and handed back to uvloop once its request is complete. A held
body keeps no timer of its own: the lane's sweep looks at its receive deadlines every tick."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Awaitable, Callable

import pytest
import uvloop
from awaiting import until
from meshproxy_fakes import FakeStack

from meshproxy.limits import guard as limit
from meshproxy.limits import slow_lane
from meshproxy.limits.guard import ListenerGuard
from meshproxy.limits.settings import resolve
from meshproxy.observability.metrics import Registry
from meshproxy.server.protocol import HttpServerProtocol
from meshproxy.server.state import ListenerState

SLOW_AFTER = 0.05
HEAD = b"GET /held HTTP/1.1\r\nHost: a\r\n"


class Gateway:
    """A real listener with a short `slow_after`, its lane's counters, and raw clients."""

    def __init__(self, stack: FakeStack, **limits_: object) -> None:
        self.registry = Registry()
        defaults = resolve(None, stack.limits)
        limits = dataclasses.replace(defaults, slow_after=SLOW_AFTER, **limits_)  # type: ignore[arg-type]
        guard = ListenerGuard(limits, "web", registry=self.registry)
        self.state = ListenerState(stack, "http", guard)  # type: ignore[arg-type]
        self.port = 0

    async def open(self) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: HttpServerProtocol(self.state), "127.0.0.1", 0, backlog=1024
        )
        self.port = server.sockets[0].getsockname()[1]
        return server

    def counter(self, name: str) -> float:
        for line in self.registry.render().splitlines():
            if line.startswith(f"meshproxy_slow_lane_{name}_total{{"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    async def client(self, first: bytes) -> socket.socket:
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", self.port))
        await loop.sock_sendall(sock, first)
        return sock


async def _answer(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    got = b""
    while b"ok:" not in got:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 4096), 10)
        assert chunk, got
        got += chunk
    return got


def _run(body: Callable[[Gateway], Awaitable[None]], **limits: object) -> None:
    async def main() -> None:
        gateway = Gateway(FakeStack(), **limits)
        server = await gateway.open()
        try:
            await body(gateway)
        finally:
            server.close()
            await server.wait_closed()

    uvloop.run(main())


def test_a_head_still_incomplete_is_held_read_by_the_lane_and_given_back_when_complete() -> None:
    async def body(gateway: Gateway) -> None:
        loop = asyncio.get_running_loop()
        sock = await gateway.client(HEAD)
        await until(lambda: len(gateway.state.lane) == 1)
        assert gateway.counter("held") == 1
        await loop.sock_sendall(sock, b"X-One: 1\r\n")
        await until(lambda: gateway.counter("reads") == 1)
        await loop.sock_sendall(sock, b"\r\n")
        assert b"HTTP/1.1 200" in await _answer(sock)
        assert gateway.counter("reads") == 2
        assert len(gateway.state.lane) == 0
        # Back with uvloop: the next request on the connection, whole, never meets the lane.
        await loop.sock_sendall(sock, b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
        assert b"ok:/next" in await _answer(sock)
        assert gateway.counter("reads") == 2
        assert gateway.counter("held") == 1
        sock.close()

    _run(body)


def test_a_whole_request_is_never_watched_or_held() -> None:
    async def body(gateway: Gateway) -> None:
        sock = await gateway.client(HEAD + b"\r\n")
        assert b"ok:/held" in await _answer(sock)
        await asyncio.sleep(SLOW_AFTER * 3)
        assert gateway.counter("held") == 0
        assert len(gateway.state.lane) == 0
        sock.close()

    _run(body)


def test_a_burst_over_held_connections_is_read_a_bounded_slice_per_loop_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(slow_lane, "PER_TURN", 8)
    clients = 100

    async def body(gateway: Gateway) -> None:
        loop = asyncio.get_running_loop()
        socks = [await gateway.client(HEAD) for _ in range(clients)]
        await until(lambda: len(gateway.state.lane) == clients)
        # Every loop turn runs this once: the lane's reads per turn, while the burst is read.
        per_turn: list[float] = []
        last = gateway.counter("reads")

        def turn() -> None:
            nonlocal last
            now = gateway.counter("reads")
            per_turn.append(now - last)
            last = now
            if now < clients:
                loop.call_soon(turn)

        for sock in socks:
            sock.send(b"X-Line: 1\r\n")  # the burst: every held connection's next line at once
        loop.call_soon(turn)
        await until(lambda: gateway.counter("reads") == clients)
        assert max(per_turn) <= 8
        assert sum(per_turn) == clients
        for sock in socks:
            sock.close()

    _run(body)


def test_a_held_connection_the_client_closes_is_closed_and_leaves_the_lane() -> None:
    async def body(gateway: Gateway) -> None:
        sock = await gateway.client(HEAD)
        await until(lambda: len(gateway.state.lane) == 1)
        assert len(gateway.state.connections) == 1
        sock.close()
        await until(lambda: not gateway.state.connections)
        assert len(gateway.state.lane) == 0

    _run(body)


def _short_body(path: str) -> bytes:
    """A POST whose short body (read whole before the stack) has only begun."""
    return f"POST {path} HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nx".encode()


def test_a_held_body_keeps_no_timer_and_the_lanes_sweep_cuts_it_at_the_body_timeout() -> None:
    async def body(gateway: Gateway) -> None:
        sock = await gateway.client(_short_body("/held-body"))
        await until(lambda: len(gateway.state.lane) == 1)
        (conn,) = gateway.state.connections
        assert isinstance(conn, HttpServerProtocol)
        assert conn._timer is None  # no tick of its own: the lane's sweep looks at it
        await until(lambda: not gateway.state.connections)
        assert gateway.state.guard.hits == {limit.BODY_TIMEOUT: 1}
        assert len(gateway.state.lane) == 0
        sock.close()

    _run(body, body_timeout=0.3, request_timeout=0)


def test_every_held_body_is_swept_a_bounded_slice_per_loop_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(slow_lane, "SWEEP_PER_TURN", 4)
    looked = 0
    lane_tick = HttpServerProtocol.lane_tick

    def counted(self: HttpServerProtocol, now: float) -> None:
        nonlocal looked
        looked += 1
        lane_tick(self, now)

    monkeypatch.setattr(HttpServerProtocol, "lane_tick", counted)
    clients = 30

    async def body(gateway: Gateway) -> None:
        loop = asyncio.get_running_loop()
        socks = [await gateway.client(_short_body(f"/b{n}")) for n in range(clients)]
        await until(lambda: len(gateway.state.lane) == clients)
        # Every loop turn runs this once: the connections the sweep looked at per turn.
        per_turn: list[int] = []
        last = looked

        def turn() -> None:
            nonlocal last
            per_turn.append(looked - last)
            last = looked
            if gateway.state.connections:
                loop.call_soon(turn)

        loop.call_soon(turn)
        # Nothing more arrives: the request timeout cuts every one of them, seen by the sweep.
        await until(lambda: not gateway.state.connections)
        assert gateway.state.guard.hits == {limit.REQUEST_TIMEOUT: clients}
        assert max(per_turn) <= 4
        assert sum(per_turn) >= clients
        for sock in socks:
            sock.close()

    _run(body, body_timeout=0, request_timeout=0.4)
