"""An HTTPS gateway listener serves the host its TLS session was made for, and answers 421 to a
request whose Host names another one (a client reusing a connection for the wrong origin)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from mesh_e2e import Mesh, MeshProxy
from meshproxy_e2e import Backends, Behaviour, free_port

from meshgate.certs.serving import issue_serving_certificate


def _ask(port: int, context: ssl.SSLContext, sni: str, host: str) -> int:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=sni) as tls,
    ):
        tls.sendall(f"GET /x HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n" not in head:
            chunk = tls.recv(4096)
            if not chunk:
                break
            head += chunk
        return int(head.split(b" ", 2)[1])


def test_host_other_than_sni_is_421_and_the_sni_host_is_served(
    mesh: Mesh, backends: Backends, proxies: Callable[..., MeshProxy], tmp_path: Path
) -> None:
    app = Behaviour("app")
    app_port = backends.start(app)
    cert = issue_serving_certificate(
        mesh.ca,
        service="gw",
        namespace="edge",
        now=datetime.now(UTC),
        extra_dns_names=("app.test",),
    )
    (tmp_path / "gw.crt").write_text(cert.cert_pem)
    (tmp_path / "gw.key").write_text(cert.key_pem)
    port = free_port()
    cfg = {
        "schema": "meshproxy/v1",
        "node": {"role": "gateway"},
        "listeners": [
            {
                "name": "https",
                "address": "127.0.0.1",
                "port": port,
                "role": "edge",
                "tls": {"certFile": str(tmp_path / "gw.crt"), "keyFile": str(tmp_path / "gw.key")},
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
    proxies("gateway", cfg)
    client = ssl.create_default_context(cadata=mesh.bundle.to_pem())

    assert _ask(port, client, "app.test", "app.test") == 200
    assert _ask(port, client, "app.test", "app.test:443") == 200
    assert _ask(port, client, "app.test", "admin.test") == 421
    assert [s.headers["host"] for s in app.seen] == ["app.test", "app.test:443"]
