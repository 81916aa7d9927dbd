"""The operator's TLS connections (kopf's watches, the proxies' config streams) each hold a 64 KiB
read buffer instead of asyncio's 256 KiB, all of it resident: the real entry sets it before any
connection opens, and a connection with it still carries a megabyte each way intact."""

from __future__ import annotations

import asyncio
import datetime
import os
import ssl
import subprocess
import sys
from asyncio import sslproto
from pathlib import Path

import pytest

from meshgate.certs.ca import create_root_ca
from meshgate.certs.serving import issue_serving_certificate
from meshgate.handlers.run import TLS_READ_BUFFER, shrink_tls_read_buffers

REPORT = (
    "import atexit, sys\n"
    "from asyncio import sslproto\n"
    "atexit.register(lambda: print(f'BUFFER {sslproto.SSLProtocol.max_size}', file=sys.stderr))\n"
    "import runpy; sys.argv = ['run']\n"
    "runpy.run_module('meshgate.handlers.run', run_name='__main__', alter_sys=True)\n"
)


def test_the_operator_entry_shrinks_the_buffer_before_it_serves(tmp_path: Path) -> None:
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "absent.kubeconfig")}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    done = subprocess.run(
        [sys.executable, "-c", REPORT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1  # stopped at "no Kubernetes credentials", after the set-up
    assert f"BUFFER {TLS_READ_BUFFER}" in done.stderr.splitlines()
    assert TLS_READ_BUFFER < 256 * 1024  # asyncio's own


def _serving_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A serving certificate for `localhost` from the operator's own CA: (cert, key, CA)."""
    now = datetime.datetime.now(datetime.UTC)
    ca = create_root_ca("cluster.local", now)
    served = issue_serving_certificate(
        ca, service="config", namespace="meshgate-system", now=now, extra_dns_names=("localhost",)
    )
    paths = tmp_path / "tls.crt", tmp_path / "tls.key", tmp_path / "ca.crt"
    for path, pem in zip(paths, (served.cert_pem, served.key_pem, served.ca_pem), strict=True):
        path.write_text(pem)
    return paths


async def test_a_connection_with_the_small_buffer_carries_a_megabyte_each_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sslproto.SSLProtocol, "max_size", sslproto.SSLProtocol.max_size)
    shrink_tls_read_buffers()
    cert, key, ca = _serving_files(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(ca))
    payload = os.urandom(1 << 20)

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readexactly(len(payload)))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
        )
        protocol = writer.transport._ssl_protocol  # type: ignore[attr-defined]
        assert len(protocol._ssl_buffer) == TLS_READ_BUFFER
        writer.write(payload)
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(len(payload)), 30) == payload
        writer.close()
        await writer.wait_closed()
