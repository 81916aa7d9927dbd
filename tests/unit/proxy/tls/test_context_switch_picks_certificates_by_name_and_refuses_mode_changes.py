from __future__ import annotations

import asyncio
import contextlib
import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tls_harness import Mesh, identity_from

from meshgate.certs.serving import issue_serving_certificate
from meshproxy.config import UpstreamTLS
from meshproxy.tls.contexts import (
    edge_server_context,
    server_context,
    upstream_client_context,
)
from meshproxy.tls.errors import TLSFilesError
from meshproxy.tls.switch import ContextSwitch


def _serving(mesh: Mesh, tmp_path: Path, host: str) -> tuple[str, str]:
    served = issue_serving_certificate(
        mesh.ca, service="x", namespace="y", now=datetime.now(UTC), extra_dns_names=(host,)
    )
    cert, key = tmp_path / f"{host}.crt", tmp_path / f"{host}.key"
    cert.write_text(served.cert_pem)
    key.write_text(served.key_pem)
    return str(cert), str(key)


async def _served_names(port: int, ca_file: str, server_name: str) -> list[str]:
    client = ssl.create_default_context(cafile=ca_file)
    client.check_hostname = False
    _, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=client, server_hostname=server_name
    )
    cert = writer.get_extra_info("ssl_object").getpeercert()
    writer.close()
    return [value for kind, value in cert["subjectAltName"] if kind == "DNS"]


async def test_edge_listener_serves_the_certificate_for_the_requested_name(
    mesh: Mesh, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(mesh.bundle.to_pem())
    default = edge_server_context(*_serving(mesh, tmp_path, "default.test"))
    switch = ContextSwitch(
        default,
        {
            "api.example.com": edge_server_context(*_serving(mesh, tmp_path, "api.example.com")),
            "*.apps.example.com": edge_server_context(*_serving(mesh, tmp_path, "wild.test")),
        },
    )
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=switch.outer)
    port = server.sockets[0].getsockname()[1]
    try:
        assert "api.example.com" in await _served_names(port, str(ca_file), "API.example.com")
        assert "wild.test" in await _served_names(port, str(ca_file), "shop.apps.example.com")
        # A wildcard covers one label only, and unknown names get the default.
        assert "default.test" in await _served_names(port, str(ca_file), "a.b.apps.example.com")
        assert "default.test" in await _served_names(port, str(ca_file), "other.test")
    finally:
        server.close()


def test_a_switch_refuses_a_context_with_another_verify_mode(mesh: Mesh, tmp_path: Path) -> None:
    identity = identity_from(tmp_path / "i", mesh.issue())
    switch = ContextSwitch(server_context(identity, True))
    switch.swap(server_context(identity, True))
    with pytest.raises(ValueError, match="new listener"):
        switch.swap(server_context(identity, False))


async def test_simple_upstream_tls_checks_the_hostname(mesh: Mesh, tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(mesh.bundle.to_pem())
    ctx = edge_server_context(*_serving(mesh, tmp_path, "upstream.test"))
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=ctx)
    port = server.sockets[0].getsockname()[1]
    client = upstream_client_context(UpstreamTLS(mode="SIMPLE", ca_file=str(ca_file)))
    assert client is not None
    try:
        _, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client, server_hostname="upstream.test"
        )
        writer.close()
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection(
                "127.0.0.1", port, ssl=client, server_hostname="elsewhere.test"
            )
    finally:
        server.close()


async def test_mutual_upstream_tls_presents_the_client_certificate(
    mesh: Mesh, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(mesh.bundle.to_pem())
    ctx = edge_server_context(
        *_serving(mesh, tmp_path, "upstream.test"),
        client_ca_file=str(ca_file),
        require_client_cert=True,
    )
    seen: list[object] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(writer.get_extra_info("peercert"))
        writer.write(b"ok\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    port = server.sockets[0].getsockname()[1]
    client_id = identity_from(tmp_path / "c", mesh.issue())
    mutual = upstream_client_context(
        UpstreamTLS(
            mode="MUTUAL",
            ca_file=str(ca_file),
            cert_file=client_id.cert_file,
            key_file=client_id.key_file,
        )
    )
    simple = upstream_client_context(UpstreamTLS(mode="SIMPLE", ca_file=str(ca_file)))
    try:
        reader, _writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=mutual, server_hostname="upstream.test"
        )
        assert await reader.readline() == b"ok\n"
        assert seen
        assert seen[0]
        reader, _ = await asyncio.open_connection(
            "127.0.0.1", port, ssl=simple, server_hostname="upstream.test"
        )
        # TLS 1.3: the client finishes first; the refusal arrives on the read (an alert or EOF)
        # and the server's handler never runs for it.
        with contextlib.suppress(ssl.SSLError):
            assert await reader.readline() == b""
        assert len(seen) == 1
    finally:
        server.close()


def test_upstream_modes_that_need_no_files_or_other_contexts() -> None:
    assert upstream_client_context(UpstreamTLS(mode="DISABLE")) is None
    with pytest.raises(ValueError, match="mesh_client_context"):
        upstream_client_context(UpstreamTLS(mode="MESH"))
    with pytest.raises(TLSFilesError, match="certFile"):
        upstream_client_context(UpstreamTLS(mode="MUTUAL"))


def test_missing_files_name_the_file_and_not_its_contents(tmp_path: Path) -> None:
    with pytest.raises(TLSFilesError, match=r"nope\.crt"):
        edge_server_context(str(tmp_path / "nope.crt"), str(tmp_path / "nope.key"))
