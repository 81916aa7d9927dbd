"""An outbound sidecar reaches an inbound sidecar over mTLS, and the app behind the inbound side
learns who called from the verified certificate, never from what the caller wrote."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mesh_e2e import (
    Mesh,
    MeshProxy,
    SecretVolume,
    inbound_sidecar,
    outbound_sidecar,
    request,
    spiffe,
)
from meshproxy_e2e import Backends, Behaviour, free_port


def test_app_sees_the_callers_spiffe_id_and_never_a_forged_one(
    mesh: Mesh, backends: Backends, proxies: Callable[..., MeshProxy], tmp_path: Path
) -> None:
    app = Behaviour("app")
    app_port = backends.start(app)
    backend_volume, frontend_volume = SecretVolume(tmp_path / "b"), SecretVolume(tmp_path / "f")
    backend_volume.write(mesh.issue(sa="backend"))
    frontend_volume.write(mesh.issue(sa="frontend"))
    inbound_port, outbound_port = free_port(), free_port()
    proxies("inbound", inbound_sidecar(backend_volume, inbound_port, [app_port]))
    outbound = proxies(
        "outbound",
        outbound_sidecar(
            frontend_volume, outbound_port, app_port, inbound_port, [spiffe("shop", "backend")]
        ),
    )

    forged = {
        "x-meshgate-peer-identity": spiffe("kube-system", "admin"),
        "x-meshgate-target-port": "1",
    }
    status, _ = request(outbound_port, path="/hello", headers=forged)

    assert status == 200
    seen = app.seen[-1]
    assert seen.path == "/hello"
    assert seen.headers["x-meshgate-peer-identity"] == spiffe("shop", "frontend")
    assert "x-meshgate-target-port" not in seen.headers
    assert outbound.metric("meshproxy_upstream_connections_opened_total", cluster="backend") >= 1


def test_outbound_refuses_a_peer_whose_identity_it_does_not_expect(
    mesh: Mesh, backends: Backends, proxies: Callable[..., MeshProxy], tmp_path: Path
) -> None:
    app = Behaviour("app")
    app_port = backends.start(app)
    backend_volume, frontend_volume = SecretVolume(tmp_path / "b"), SecretVolume(tmp_path / "f")
    backend_volume.write(mesh.issue(sa="impostor"))
    frontend_volume.write(mesh.issue(sa="frontend"))
    inbound_port, outbound_port = free_port(), free_port()
    proxies("inbound", inbound_sidecar(backend_volume, inbound_port, [app_port]))
    outbound = proxies(
        "outbound",
        outbound_sidecar(
            frontend_volume, outbound_port, app_port, inbound_port, [spiffe("shop", "backend")]
        ),
    )

    status, _ = request(outbound_port, path="/hello")

    assert status == 503
    assert app.seen == []
    assert outbound.metric("meshproxy_upstream_identity_rejected_total", cluster="backend") >= 1


def test_a_caller_whose_certificate_is_refused_sees_a_connect_failure_and_retries_it(
    mesh: Mesh,
    other_mesh: Mesh,
    backends: Backends,
    proxies: Callable[..., MeshProxy],
    tmp_path: Path,
) -> None:
    app = Behaviour("app")
    app_port = backends.start(app)
    backend_volume, caller_volume = SecretVolume(tmp_path / "b"), SecretVolume(tmp_path / "f")
    backend_volume.write(mesh.issue(sa="backend"))
    # Signed by another CA, but trusting ours: the caller accepts the server, not vice versa,
    # so with TLS 1.3 the refusal only shows at the caller's first read.
    caller_volume.write(other_mesh.issue(sa="frontend"), ca_pem=mesh.bundle.to_pem())
    inbound_port, outbound_port = free_port(), free_port()
    proxies("inbound", inbound_sidecar(backend_volume, inbound_port, [app_port]))
    retry = {"attempts": 2, "retryOn": ["connect-failure"], "backoff": {"baseInterval": 0.001}}
    outbound = proxies(
        "outbound",
        outbound_sidecar(caller_volume, outbound_port, app_port, inbound_port, [], retry=retry),
    )

    status, _ = request(outbound_port, method="POST", path="/hello")

    assert status == 503  # connect-failure, not the 502 of a reset after the request was sent
    assert app.seen == []
    assert outbound.metric("meshproxy_upstream_retries_total") == 2
