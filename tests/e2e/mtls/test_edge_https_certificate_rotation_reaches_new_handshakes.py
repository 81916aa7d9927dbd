"""An HTTPS gateway listener follows its certificate files: after a kubelet-style swap, new
handshakes get the new certificate, connections already open keep serving, the listener is
never reopened; a broken pair is refused and the previous certificate stays."""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mesh_e2e import Mesh, MeshProxy
from meshproxy_e2e import Backends, Behaviour, free_port, wait_until

from meshgate.certs.serving import ServingCertificate, issue_serving_certificate

pytestmark = pytest.mark.e2e


class EdgeSecret:
    """`tls.crt`/`tls.key` linking through `..data`, swapped in one rename as kubelet does."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        self._generation = 0

    def write(self, cert_pem: str, key_pem: str) -> None:
        self._generation += 1
        data = self.root / f"..{time.time_ns()}_{self._generation}"
        data.mkdir()
        (data / "tls.crt").write_text(cert_pem)
        (data / "tls.key").write_text(key_pem)
        link = self.root / "..data_tmp"
        link.symlink_to(data.name)
        os.replace(link, self.root / "..data")
        for name in ("tls.crt", "tls.key"):
            if not (self.root / name).is_symlink():
                (self.root / name).symlink_to(f"..data/{name}")


def _issue(mesh: Mesh) -> ServingCertificate:
    return issue_serving_certificate(
        mesh.ca, service="gw", namespace="edge", now=datetime.now(UTC),
        extra_dns_names=("app.test",),
    )  # fmt: skip


def _der(cert: ServingCertificate) -> bytes:
    return ssl.PEM_cert_to_DER_cert(cert.cert_pem)


def _connect(port: int, client: ssl.SSLContext) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    return client.wrap_socket(raw, server_hostname="app.test")


def _get(tls: ssl.SSLSocket) -> int:
    tls.sendall(b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
    data = b""
    while not data.endswith(b"}"):  # the backend answers one JSON object
        chunk = tls.recv(4096)
        assert chunk, data
        data += chunk
    return int(data.split(b" ", 2)[1])


def _presented(port: int, client: ssl.SSLContext) -> bytes:
    with _connect(port, client) as tls:
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        return der


def _config(port: int, app_port: int, secret: EdgeSecret) -> dict[str, Any]:
    return {
        "schema": "meshproxy/v1",
        "node": {"role": "gateway"},
        "listeners": [
            {
                "name": "https",
                "address": "127.0.0.1",
                "port": port,
                "role": "edge",
                "tls": {
                    "certFile": str(secret.root / "tls.crt"),
                    "keyFile": str(secret.root / "tls.key"),
                },
                "virtualHosts": [
                    {
                        "name": "all",
                        "domains": ["*"],
                        "routes": [{"name": "app", "forward": {"clusters": [{"cluster": "app"}]}}],
                    }
                ],
            }
        ],
        "clusters": [{"name": "app", "endpoints": [{"address": "127.0.0.1", "port": app_port}]}],
    }


def test_rotated_files_reach_new_handshakes_and_open_connections_keep_serving(
    mesh: Mesh, backends: Backends, proxies: Callable[..., MeshProxy], tmp_path: Path
) -> None:
    app_port = backends.start(Behaviour("app"))
    secret = EdgeSecret(tmp_path / "secret")
    first, second = _issue(mesh), _issue(mesh)
    secret.write(first.cert_pem, first.key_pem)
    port = free_port()
    proxy = proxies("gateway", _config(port, app_port, secret))
    client = ssl.create_default_context(cadata=mesh.bundle.to_pem())
    assert _presented(port, client) == _der(first)

    with _connect(port, client) as kept:
        assert _get(kept) == 200
        secret.write(second.cert_pem, second.key_pem)
        wait_until(lambda: _presented(port, client) == _der(second), 10, "the new certificate")
        assert _get(kept) == 200  # the connection made before the rotation still serves
        assert kept.getpeercert(binary_form=True) == _der(first)
    assert proxy.metric("meshproxy_cert_reloads_total", result="success") == 1

    # A key that does not match its certificate is refused; the last good pair keeps serving.
    secret.write(_issue(mesh).cert_pem, second.key_pem)
    wait_until(
        lambda: proxy.metric("meshproxy_cert_reloads_total", result="failure") == 1,
        10,
        "the refused pair to be counted",
    )
    assert _presented(port, client) == _der(second)
