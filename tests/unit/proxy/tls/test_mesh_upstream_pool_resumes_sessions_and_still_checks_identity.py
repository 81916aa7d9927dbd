"""A MESH upstream pool offers each new connection the last session from the same peer, on
both event loops, with real loopback handshakes; a resumed session still carries the peer's
certificate, so the SPIFFE identity check passes or fails exactly as after a full handshake."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import uvloop
from tls_harness import TD, Mesh, identity_from

from meshproxy import config
from meshproxy.tls.contexts import mesh_client_context, server_context
from meshproxy.upstream.clienttls import ClientTLS
from meshproxy.upstream.errors import UpstreamFailure
from meshproxy.upstream.pool import EndpointPool

BACKEND = "spiffe://cluster.local/ns/shop/sa/backend"
FRONTEND = "spiffe://cluster.local/ns/shop/sa/frontend"
REQUEST = b"GET / HTTP/1.1\r\nhost: backend\r\n\r\n"

Runner = Callable[[Coroutine[Any, Any, None]], None]
LOOPS = pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])


class Backend:
    """An inbound mesh port answering 200 to each request; records whether each TLS
    connection resumed a session."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.reused: list[bool] = []
        self.port = 0

    async def serve(self, body: Callable[[], Awaitable[None]]) -> None:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.context)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            await body()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reused.append(writer.get_extra_info("ssl_object").session_reused)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()


async def _exchange(pool: EndpointPool) -> ssl.SSLObject:
    """One request on a new connection; the connection goes back to the pool afterwards."""
    conn = await pool.acquire_fresh()
    assert conn.transport is not None
    tls: ssl.SSLObject = conn.transport.get_extra_info("ssl_object")
    response = await conn.send(REQUEST, None, False)
    assert response.status == 200
    conn.abort()
    return tls


def _tls(context: Callable[[], ssl.SSLContext], expected: str) -> ClientTLS:
    return ClientTLS(context, None, TD, [expected])


@pytest.fixture
def backend(mesh: Mesh, tmp_path: Path) -> Backend:
    return Backend(server_context(identity_from(tmp_path / "srv", mesh.issue(sa="backend")), True))


@pytest.fixture
def client_ctx(mesh: Mesh, tmp_path: Path) -> ssl.SSLContext:
    return mesh_client_context(identity_from(tmp_path / "cli", mesh.issue(sa="frontend")))


@LOOPS
def test_second_connection_resumes_and_keeps_the_peer_certificate(
    run: Runner, backend: Backend, client_ctx: ssl.SSLContext
) -> None:
    async def body() -> None:
        pool = EndpointPool(
            "127.0.0.1", backend.port, config.ConnectionPool(), _tls(lambda: client_ctx, BACKEND)
        )
        first = await _exchange(pool)
        second = await _exchange(pool)
        assert not first.session_reused
        assert second.session_reused
        assert second.version() == "TLSv1.3"
        assert second.getpeercert()  # the identity check below had a certificate to read

    run(backend.serve(body))
    assert backend.reused == [False, True]


@LOOPS
def test_resumed_session_to_an_unexpected_identity_is_still_refused(
    run: Runner, backend: Backend, client_ctx: ssl.SSLContext
) -> None:
    async def body() -> None:
        pool = EndpointPool(
            "127.0.0.1", backend.port, config.ConnectionPool(), _tls(lambda: client_ctx, BACKEND)
        )
        await _exchange(pool)
        # Same context (so the session is offered), but this cluster expects someone else.
        pool.tls = _tls(lambda: client_ctx, FRONTEND)
        with pytest.raises(UpstreamFailure, match="connect-failure"):
            await pool.acquire_fresh()

    run(backend.serve(body))
    assert backend.reused == [False, True]


@LOOPS
def test_a_reloaded_client_context_never_offers_the_old_session(
    run: Runner, backend: Backend, client_ctx: ssl.SSLContext, mesh: Mesh, tmp_path: Path
) -> None:
    current = [client_ctx]

    async def body() -> None:
        pool = EndpointPool(
            "127.0.0.1", backend.port, config.ConnectionPool(), _tls(lambda: current[0], BACKEND)
        )
        await _exchange(pool)
        current[0] = mesh_client_context(identity_from(tmp_path / "rotated", mesh.issue()))
        assert not (await _exchange(pool)).session_reused
        assert (await _exchange(pool)).session_reused  # the new context's own session

    run(backend.serve(body))
    assert backend.reused == [False, False, True]


@LOOPS
def test_concurrent_connects_offer_each_peer_only_its_own_session(
    run: Runner, mesh: Mesh, tmp_path: Path, client_ctx: ssl.SSLContext
) -> None:
    backends = [
        Backend(server_context(identity_from(tmp_path / f"srv{i}", mesh.issue(sa="backend")), True))
        for i in range(2)
    ]

    async def body() -> None:
        pools = [
            EndpointPool(
                "127.0.0.1", b.port, config.ConnectionPool(), _tls(lambda: client_ctx, BACKEND)
            )
            for b in backends
        ]
        for _ in range(3):
            await asyncio.gather(*(_exchange(p) for p in pools))

    async def both() -> None:
        await backends[0].serve(lambda: backends[1].serve(body))

    run(both())
    # A session offered to the wrong server would not resume (each has its own ticket keys).
    assert backends[0].reused == backends[1].reused == [False, True, True]
