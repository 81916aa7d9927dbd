"""Inbound mTLS with real handshakes: who the server sees, and who it refuses."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
from tls_harness import Mesh, Refused, ask, identity_from, inbound

from meshproxy.tls.contexts import mesh_client_context, server_context
from meshproxy.tls.identity import identity_allowed, peer_spiffe_id

FRONTEND = "spiffe://cluster.local/ns/shop/sa/frontend"
BACKEND = "spiffe://cluster.local/ns/shop/sa/backend"


@pytest.fixture
def server_ctx(mesh: Mesh, tmp_path: Path) -> ssl.SSLContext:
    return server_context(identity_from(tmp_path / "srv", mesh.issue(sa="backend")), True)


@pytest.fixture
def client_ctx(mesh: Mesh, tmp_path: Path) -> ssl.SSLContext:
    return mesh_client_context(identity_from(tmp_path / "cli", mesh.issue(sa="frontend")))


async def test_server_sees_the_clients_spiffe_id(server_ctx, client_ctx) -> None:
    async with inbound(server_ctx, "STRICT") as server:
        assert await ask(server.port, client_ctx) == f"{FRONTEND} ping"
        assert server.seen == [FRONTEND]


async def test_client_sees_the_servers_spiffe_id_over_tls13_with_alpn(
    server_ctx, client_ctx
) -> None:
    async with inbound(server_ctx, "STRICT") as server:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port, ssl=client_ctx)
        tls = writer.get_extra_info("ssl_object")
        assert tls.version() == "TLSv1.3"
        assert tls.selected_alpn_protocol() == "http/1.1"
        peer = peer_spiffe_id(tls, "cluster.local")
        assert peer == BACKEND
        assert identity_allowed(peer, [BACKEND])
        assert not identity_allowed(peer, [FRONTEND])
        writer.close()


async def test_tls12_is_still_accepted(server_ctx, client_ctx) -> None:
    client_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    async with inbound(server_ctx, "STRICT") as server:
        assert await ask(server.port, client_ctx) == f"{FRONTEND} ping"


async def test_strict_refuses_plaintext(server_ctx, client_ctx) -> None:
    async with inbound(server_ctx, "STRICT") as server:
        with pytest.raises(Refused):
            await ask(server.port, None)
        assert server.seen == []
        assert server.refused == 1
        # Same port, same server: a mesh client still gets through.
        assert await ask(server.port, client_ctx) == f"{FRONTEND} ping"


async def test_strict_refuses_a_tls_client_without_a_certificate(
    server_ctx, mesh, tmp_path
) -> None:
    anonymous = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    anonymous.check_hostname = False
    anonymous.load_verify_locations(cafile=str(tmp_path / "srv" / "ca.crt"))
    async with inbound(server_ctx, "STRICT") as server:
        with pytest.raises(Refused):
            await ask(server.port, anonymous)
        assert server.seen == []


async def test_strict_refuses_a_client_certificate_from_another_ca(
    server_ctx, other_mesh, mesh, tmp_path
) -> None:
    stranger = identity_from(tmp_path / "x", other_mesh.issue(), ca_pem=mesh.bundle.to_pem())
    async with inbound(server_ctx, "STRICT") as server:
        with pytest.raises(Refused):
            await ask(server.port, mesh_client_context(stranger))
        assert server.seen == []


async def test_permissive_accepts_mtls_and_plaintext_and_plaintext_has_no_identity(
    mesh, tmp_path, client_ctx
) -> None:
    permissive = server_context(identity_from(tmp_path / "srv", mesh.issue(sa="backend")), False)
    async with inbound(permissive, "PERMISSIVE") as server:
        assert await ask(server.port, client_ctx) == f"{FRONTEND} ping"
        assert await ask(server.port, None) == "- ping"
        assert server.seen == [FRONTEND, None]


async def test_permissive_still_refuses_a_certificate_that_fails_verification(
    mesh, other_mesh, tmp_path
) -> None:
    permissive = server_context(identity_from(tmp_path / "srv", mesh.issue(sa="backend")), False)
    stranger = identity_from(tmp_path / "x", other_mesh.issue(), ca_pem=mesh.bundle.to_pem())
    async with inbound(permissive, "PERMISSIVE") as server:
        with pytest.raises(Refused):
            await ask(server.port, mesh_client_context(stranger))
        assert server.seen == []


async def test_mesh_client_refuses_a_server_from_another_ca(mesh, other_mesh, tmp_path) -> None:
    impostor = server_context(identity_from(tmp_path / "srv", other_mesh.issue(sa="backend")), True)
    client = mesh_client_context(identity_from(tmp_path / "cli", mesh.issue()))
    async with inbound(impostor, "STRICT") as server:
        with pytest.raises(Refused, match="CERTIFICATE_VERIFY_FAILED"):
            await ask(server.port, client)
