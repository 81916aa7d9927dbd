"""Certificates rotated the way kubelet updates a mounted Secret, on both sides of a mesh hop,
while requests keep flowing: not one fails, and new handshakes use the new certificates."""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from pathlib import Path

from mesh_e2e import (
    Mesh,
    MeshProxy,
    SecretVolume,
    inbound_sidecar,
    mtls_context,
    outbound_sidecar,
    server_not_after,
    spiffe,
)
from meshproxy_e2e import Backends, Behaviour, free_port

MAX_REQUESTS = 20_000
MAX_SECONDS = 60
AFTER_ROTATION = 300  # requests sent once both sides have reloaded
OPENED = "meshproxy_upstream_connections_opened_total"


def test_rotating_both_sides_under_continuous_load_fails_no_request(
    mesh: Mesh, backends: Backends, proxies: Callable[..., MeshProxy], tmp_path: Path
) -> None:
    app = Behaviour("app", record=False)
    app_port = backends.start(app)
    backend_volume, frontend_volume = SecretVolume(tmp_path / "b"), SecretVolume(tmp_path / "f")
    backend_volume.write(mesh.issue(sa="backend", hours=24))
    frontend_volume.write(mesh.issue(sa="frontend", hours=24))
    inbound_port, outbound_port = free_port(), free_port()
    inbound = proxies("inbound", inbound_sidecar(backend_volume, inbound_port, [app_port]))
    outbound = proxies(
        "outbound",
        outbound_sidecar(
            frontend_volume,
            outbound_port,
            app_port,
            inbound_port,
            [spiffe("shop", "backend")],
            # Connections retire every few requests, so handshakes go on throughout the swap.
            connectionPool={"maxRequestsPerConnection": 5},
        ),
    )
    ca = mesh.bundle.to_pem()
    probe = mtls_context(mesh.issue(sa="probe"), ca, tmp_path)
    before = server_not_after(inbound_port, ca, probe)
    expiry_before = outbound.metric("meshproxy_cert_expiry_seconds")

    failures: list[str] = []
    sent = 0
    rotated_at: int | None = None
    opened_at_rotation = 0.0
    conn = http.client.HTTPConnection("127.0.0.1", outbound_port, timeout=5)
    deadline = time.monotonic() + MAX_SECONDS
    while sent < MAX_REQUESTS and time.monotonic() < deadline:
        try:
            conn.request("GET", f"/r/{sent}", headers={"Host": "backend.shop"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                failures.append(f"{sent}: {resp.status}")
        except (OSError, http.client.HTTPException) as exc:
            failures.append(f"{sent}: {exc!r}")
            conn.close()
        sent += 1
        if sent == 200:
            backend_volume.write(mesh.issue(sa="backend", hours=48))
            frontend_volume.write(mesh.issue(sa="frontend", hours=48))
        if (
            rotated_at is None
            and sent % 50 == 0
            and sent > 200
            and all(
                p.metric("meshproxy_cert_reloads_total", result="success") >= 1
                for p in (inbound, outbound)
            )
        ):
            rotated_at = sent
            opened_at_rotation = outbound.metric(OPENED, cluster="backend")
        if rotated_at is not None and sent >= rotated_at + AFTER_ROTATION:
            break
    conn.close()

    assert rotated_at is not None, "the proxies never reloaded the rotated certificates"
    assert failures == [], f"{len(failures)} of {sent} requests failed: {failures[:5]}"
    # New mTLS connections were made with the new certificates, not just old ones kept alive.
    assert outbound.metric(OPENED, cluster="backend") >= opened_at_rotation + AFTER_ROTATION / 5
    assert server_not_after(inbound_port, ca, probe) != before
    assert outbound.metric("meshproxy_cert_expiry_seconds") > expiry_before + 20 * 3600
    for proxy in (inbound, outbound):
        assert proxy.metric("meshproxy_cert_reloads_total", result="failure") == 0
