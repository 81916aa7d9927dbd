"""A client connection that closes is freed by reference counting at once, on uvloop's real
transports: nothing it held refers back to it, so no full pass of the cyclic collector (whose
pause grows with every connection still open) is needed to reclaim it."""

from __future__ import annotations

import asyncio
import gc
import socket

import uvloop
from meshproxy_fakes import FakeStack

from meshproxy.server.protocol import HttpServerProtocol
from meshproxy.server.state import ListenerState


def _alive() -> int:
    return sum(isinstance(o, HttpServerProtocol) for o in gc.get_objects())


async def _open_and_close(clients: int) -> tuple[int, int]:
    """(connections seen open, HttpServerProtocol objects left once all closed)."""
    loop = asyncio.get_running_loop()
    state = ListenerState(FakeStack(), "http")  # type: ignore[arg-type]
    server = await loop.create_server(lambda: HttpServerProtocol(state), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    socks = []
    for _ in range(clients):
        sock = socket.socket()
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: 1\r\n")  # half a head
        socks.append(sock)
    for _ in range(500):
        if len(state.connections) == clients:
            break
        await asyncio.sleep(0.01)
    seen = len(state.connections)
    for sock in socks:
        sock.close()
    for _ in range(500):
        if not state.connections:
            break
        await asyncio.sleep(0.01)
    server.close()
    await server.wait_closed()
    await asyncio.sleep(0)  # uvloop drops its handles once their close callbacks ran
    return seen, _alive()


def test_closed_connections_leave_no_cycle_for_the_collector() -> None:
    gc.collect()
    gc.disable()  # only reference counting frees anything from here on
    try:
        before = _alive()
        seen, left = uvloop.run(_open_and_close(50))
    finally:
        gc.enable()
    assert seen == 50
    assert left == before
