"""CONNECT on a sidecar's outbound listener, through a stack built from config as the proxy
builds it, on loopback sockets: a known destination is answered 200 and spliced both ways with
half-closes passed on; a slow client pauses the upstream; an idle tunnel is closed; an unknown
destination is a 404 and an edge listener's CONNECT a 405. Every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from meshproxy import config, stack
from meshproxy.observability.metrics import Registry
from meshproxy.server.protocol import HttpServerProtocol
from meshproxy.server.state import ListenerState

WAIT = 10.0  # seconds any single condition may take


class App(asyncio.Protocol):
    """The tunnel's destination: records what arrives and whether the proxy ended its side."""

    def __init__(self, greeting: bytes = b"") -> None:
        self.greeting = greeting  # written the moment a connection opens, as a server that
        # speaks first does (an HTTP/2 server's SETTINGS, an SMTP banner)
        self.received = bytearray()
        self.eof = asyncio.Event()
        self.paused = asyncio.Event()
        self.transport: asyncio.Transport | None = None
        self.connected = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.greeting:
            transport.write(self.greeting)  # type: ignore[attr-defined]
        self.connected.set()

    def data_received(self, data: bytes) -> None:
        self.received += data

    def eof_received(self) -> bool:
        self.eof.set()
        return True  # keep writing: the other direction is still open

    def pause_writing(self) -> None:
        self.paused.set()


@dataclass
class Sidecar:
    port: int
    app: App
    built: stack.Built
    log: Path
    servers: list[asyncio.Server] = field(default_factory=list)

    def access_lines(self) -> list[dict[str, Any]]:
        assert self.built.access_log is not None
        self.built.access_log.flush()
        return (
            [json.loads(x) for x in self.log.read_text().splitlines()] if self.log.exists() else []
        )


def sidecar_config(app_port: int, log: Path, role: str = "outbound") -> dict[str, Any]:
    return {
        "schema": "meshproxy/v1",
        "node": {"role": "sidecar", "name": "client", "namespace": "shop"},
        "listeners": [
            {
                "name": role,
                "address": "127.0.0.1",
                "port": 15001,
                "role": role,
                "virtualHosts": [
                    {
                        "name": "plain/db:5432",
                        "domains": ["db.plain", "db.plain:5432"],
                        "routes": [
                            {"name": "db", "forward": {"clusters": [{"cluster": "plain/db:5432"}]}}
                        ],
                    }
                ],
            }
        ],
        "clusters": [
            {"name": "plain/db:5432", "endpoints": [{"address": "127.0.0.1", "port": app_port}]}
        ],
        "observability": {"accessLog": {"enabled": True, "path": str(log)}},
    }


@contextlib.asynccontextmanager
async def running_sidecar(
    tmp_path: Path, role: str = "outbound", greeting: bytes = b""
) -> AsyncIterator[Sidecar]:
    loop = asyncio.get_running_loop()
    app = App(greeting)
    app_server = await loop.create_server(lambda: app, "127.0.0.1", 0)
    app_port = app_server.sockets[0].getsockname()[1]
    log = tmp_path / "access.log"
    cfg = config.parse_config(json.dumps(sidecar_config(app_port, log, role)))
    built = stack.build(cfg, Registry())
    state = ListenerState(built.stacks[role], "http")
    proxy = await loop.create_server(lambda: HttpServerProtocol(state), "127.0.0.1", 0)
    side = Sidecar(proxy.sockets[0].getsockname()[1], app, built, log, [app_server, proxy])
    try:
        yield side
    finally:
        for server in side.servers:
            server.close()
        built.close_unused(None)


@pytest.fixture
async def sidecar(tmp_path: Path) -> AsyncIterator[Sidecar]:
    async with running_sidecar(tmp_path) as side:
        yield side


async def until(condition: Callable[[], bool]) -> None:
    """A bounded wait for a condition no event announces (a count the proxy keeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def open_tunnel(
    port: int, target: bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"CONNECT " + target + b" HTTP/1.1\r\nHost: " + target + b"\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    return reader, writer, head


async def test_a_known_destination_is_spliced_both_ways_and_each_half_close_passed_on(
    sidecar: Sidecar,
) -> None:
    reader, writer, head = await open_tunnel(sidecar.port, b"db.plain:5432")
    assert head == b"HTTP/1.1 200 Connection Established\r\n\r\n"
    writer.write(b"hello app")
    writer.write_eof()  # the client is done sending, and still reads
    await asyncio.wait_for(sidecar.app.eof.wait(), WAIT)
    assert bytes(sidecar.app.received) == b"hello app"

    app_transport = sidecar.app.transport
    assert app_transport is not None
    app_transport.write(b"hello client")
    app_transport.write_eof()
    assert await asyncio.wait_for(reader.read(), WAIT) == b"hello client"  # then EOF
    writer.close()
    cluster = sidecar.built.clusters["plain/db:5432"]
    await until(lambda: cluster.open_connections() == 0)  # the tunnel's leg counted, and gone

    lines = [x for x in sidecar.access_lines() if x["method"] == "CONNECT"]
    assert [(x["status"], x["cluster"], x["bytes_sent"]) for x in lines] == [
        (200, "plain/db:5432", len(b"hello client"))
    ]
    assert "flags" not in lines[0]


async def test_a_destination_that_speaks_first_has_its_first_bytes_passed_on(
    tmp_path: Path,
) -> None:
    # Its first bytes reach the proxy before the tunnel is spliced: they are the tunnel's, not
    # a malformed HTTP response.
    async with running_sidecar(tmp_path, greeting=b"220 db ready\r\n") as side:
        for _ in range(5):
            reader, writer, head = await open_tunnel(side.port, b"db.plain:5432")
            assert head == b"HTTP/1.1 200 Connection Established\r\n\r\n"
            assert await asyncio.wait_for(reader.readexactly(14), WAIT) == b"220 db ready\r\n"
            writer.close()


async def test_a_client_that_does_not_read_pauses_the_destination_then_gets_every_byte(
    sidecar: Sidecar,
) -> None:
    reader, writer, _ = await open_tunnel(sidecar.port, b"db.plain:5432")
    await asyncio.wait_for(sidecar.app.connected.wait(), WAIT)
    app_transport = sidecar.app.transport
    assert app_transport is not None
    chunk = b"x" * 65536
    sent = 0
    for _ in range(2048):  # at most 128 MiB: far more than every buffer on the way holds
        app_transport.write(chunk)
        sent += len(chunk)
        if sidecar.app.paused.is_set():
            break
        await asyncio.sleep(0)  # let the proxy copy what it can
    # The proxy stopped reading the destination: its writes back up to the app's own buffer.
    assert sidecar.app.paused.is_set()
    app_transport.write_eof()
    received = 0
    while True:
        data = await asyncio.wait_for(reader.read(1 << 20), WAIT)
        if not data:
            break
        received += len(data)
    assert received == sent
    writer.close()


async def test_a_pods_address_is_a_destination_of_its_own(sidecar: Sidecar) -> None:
    app_port = sidecar.servers[0].sockets[0].getsockname()[1]
    reader, writer, head = await open_tunnel(sidecar.port, b"127.0.0.1:%d" % app_port)
    assert head.startswith(b"HTTP/1.1 200 ")
    writer.write(b"to the pod")
    await asyncio.wait_for(sidecar.app.connected.wait(), WAIT)
    app_transport = sidecar.app.transport
    assert app_transport is not None
    app_transport.write(b"from the pod")
    assert await asyncio.wait_for(reader.readexactly(12), WAIT) == b"from the pod"
    await until(lambda: bytes(sidecar.app.received) == b"to the pod")
    writer.close()


async def test_an_unknown_destination_is_refused_as_a_plain_request_to_it_is(
    sidecar: Sidecar,
) -> None:
    reader, writer, head = await open_tunnel(sidecar.port, b"elsewhere.example:443")
    assert head.startswith(b"HTTP/1.1 404 ")
    assert b"connection: close" in head
    await asyncio.wait_for(reader.read(), WAIT)  # closed after the answer
    writer.close()
    assert not sidecar.app.connected.is_set()


async def test_an_edge_listener_answers_connect_405(tmp_path: Path) -> None:
    async with running_sidecar(tmp_path, "edge") as edge:
        _, writer, head = await open_tunnel(edge.port, b"db.plain:5432")
        assert head.startswith(b"HTTP/1.1 405 ")
        writer.close()
        assert not edge.app.connected.is_set()


async def test_a_tunnel_idle_past_its_timeout_is_closed_and_says_so_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack, "TUNNEL_IDLE_TIMEOUT", 0.05)
    async with running_sidecar(tmp_path) as side:
        reader, writer, head = await open_tunnel(side.port, b"db.plain:5432")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert await asyncio.wait_for(reader.read(), WAIT) == b""  # closed by the proxy
        await asyncio.wait_for(side.app.eof.wait(), WAIT)
        writer.close()
        lines = [x for x in side.access_lines() if x["method"] == "CONNECT"]
        assert [(x["status"], x.get("flags")) for x in lines] == [(200, "tunnel_idle_timeout")]
