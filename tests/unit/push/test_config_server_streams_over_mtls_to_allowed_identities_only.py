"""The config server and the proxy's stream, over real mTLS on loopback: a change reaches the
stream at once and its acknowledgement is counted; a wrong identity gets a 403, a client without
a certificate (or plaintext) no handshake, and a server with the wrong identity is not trusted."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import create_root_ca
from meshgate.certs.workload import issue_workload_certificate
from meshgate.identity.plan import CaRef
from meshgate.push import serving
from meshgate.push.server import ConfigServer, serve
from meshproxy.config import Identity
from meshproxy.delivery.settings import DeliverySettings
from meshproxy.delivery.stream import ConfigStream
from meshproxy.delivery.target import Target

TD = "cluster.local"
SERVER_ID = f"spiffe://{TD}/ns/meshgate-system/sa/meshgate"
GW = Target("gateway", "shop", "edge")


def _cm(version: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "meshgate-gw-edge",
            "namespace": "shop",
            "labels": {"meshgate.io/gateway": "edge"},
            "annotations": {"meshgate.io/config-version": version},
        },
        "data": {"config.json": json.dumps({"version": version})},
    }


@dataclass
class Cluster:
    ca: CaRef
    server: ConfigServer
    port: int
    tmp: Path

    def identity(self, namespace: str, account: str) -> Identity:
        issued = issue_workload_certificate(
            self.ca.ca, self.ca.bundle, trust_domain=TD, namespace=namespace,
            service_account=account, now=datetime.now(UTC),
        )  # fmt: skip
        directory = self.tmp / f"{namespace}-{account}"
        directory.mkdir()
        files = {
            "tls.crt": issued.cert_pem,
            "tls.key": issued.key_pem,
            "ca.crt": issued.ca_bundle_pem,
        }
        for name, text in files.items():
            (directory / name).write_text(text)
        return Identity(str(directory / "tls.crt"), str(directory / "tls.key"),
                        str(directory / "ca.crt"), TD)  # fmt: skip

    def stream(self, identity: Identity, target: Target = GW, server_id: str = SERVER_ID) -> Proxy:
        proxy = Proxy()
        settings = DeliverySettings("127.0.0.1", self.port, server_id, target, identity)
        proxy.stream = ConfigStream(settings, proxy.apply, lambda: proxy.version)
        return proxy


class Proxy:
    """What the runtime gives the stream: apply, and the version it serves."""

    def __init__(self) -> None:
        self.version = ""
        self.applied: list[str] = []
        self.changed = asyncio.Event()
        self.stream: ConfigStream

    async def apply(self, raw: bytes) -> bool:
        self.version = json.loads(raw)["version"]
        self.applied.append(self.version)
        self.changed.set()
        return True

    async def next_version(self) -> str:
        await asyncio.wait_for(self.changed.wait(), 5)
        self.changed.clear()
        return self.version


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    root = create_root_ca(TD, datetime.now(UTC) - timedelta(days=1))
    ca = CaRef(root, TrustBundle.of([root.cert]), "meshgate-system", "meshgate-ca")
    ctx = serving.server_context()
    issued = serving.issue_server_certificate(
        ca, trust_domain=TD, namespace="meshgate-system", service_account="meshgate",
        now=datetime.now(UTC),
    )  # fmt: skip
    serving.load(ctx, issued, ca.bundle.to_pem())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ConfigServer(TD)
    server.observe("ADDED", _cm("v1"))
    runner = await serve(server, ctx, "127.0.0.1", port)
    try:
        yield Cluster(ca, server, port, tmp_path)
    finally:
        await runner.cleanup()


async def test_a_change_reaches_the_stream_at_once_and_its_ack_is_counted(cluster: Cluster) -> None:
    proxy = cluster.stream(cluster.identity("shop", "meshgate-gw-edge"))
    proxy.stream.start()
    try:
        assert await proxy.next_version() == "v1"
        assert proxy.stream.connected
        cluster.server.observe("MODIFIED", _cm("v2"))
        assert await asyncio.wait_for(proxy.next_version(), 1.0) == "v2"
        # The next poll carries the acknowledgement.
        for _ in range(100):
            versions = cluster.server.book.versions()
            (status,) = cluster.server.proxies.status(versions, time.monotonic())
            if status.current == 1:
                break
            await asyncio.sleep(0.01)
        text = cluster.server.metrics_text()
        assert 'meshgate_config_proxies{target="gateway/shop/edge",state="current"} 1' in text
        assert 'meshgate_config_convergence_seconds_count{stage="acknowledged"} 1' in text
    finally:
        await proxy.stream.stop()


async def test_an_identity_asking_for_another_config_is_refused(cluster: Cluster) -> None:
    for identity in (
        cluster.identity("shop", "frontend"),  # a sidecar asking for the gateway's config
        cluster.identity("bank", "meshgate-gw-edge"),  # the same gateway name elsewhere
    ):
        proxy = cluster.stream(identity)
        proxy.stream.start()
        try:
            for _ in range(200):
                if cluster.server.refusals and "refused" in proxy.stream.last_error:
                    break
                await asyncio.sleep(0.01)
            assert "refused gateway/shop/edge" in proxy.stream.last_error
            assert "may not have gateway/shop/edge" in proxy.stream.last_error
            assert proxy.applied == []
            assert not proxy.stream.connected
        finally:
            await proxy.stream.stop()


async def test_a_server_with_another_identity_is_not_trusted(cluster: Cluster) -> None:
    wrong = f"spiffe://{TD}/ns/meshgate-system/sa/impostor"
    proxy = cluster.stream(cluster.identity("shop", "meshgate-gw-edge"), server_id=wrong)
    proxy.stream.start()
    try:
        for _ in range(200):
            if "expected" in proxy.stream.last_error:
                break
            await asyncio.sleep(0.01)
        assert f"expected {wrong}" in proxy.stream.last_error
        assert proxy.applied == []
    finally:
        await proxy.stream.stop()


async def test_plaintext_and_certificate_less_clients_get_no_config(cluster: Cluster) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", cluster.port)
    writer.write(b"GET /v1/configs/gateway/shop/edge HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert b"HTTP/1.1" not in answer
    assert b"version" not in answer

    anonymous = ssl.create_default_context(cafile=cluster.identity("shop", "x").ca_file)
    anonymous.check_hostname = False
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", cluster.port, ssl=anonymous, server_hostname=""
    )
    writer.write(b"GET /v1/configs/gateway/shop/edge HTTP/1.1\r\nHost: x\r\n\r\n")
    with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(1), 5)
    writer.close()
