"""AuthorizationPolicy on a sidecar's inbound side: principals from verified certificates,
methods, and paths compared after normalisation, so encoded tricks cannot reach a denied path.
Denials are 403 without detail, counted, and access-logged with the caller's identity."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mesh_e2e import Mesh, MeshProxy, SecretVolume, inbound_sidecar, mtls_context, request, spiffe
from meshproxy_e2e import Backends, Behaviour, free_port, wait_until

FRONTEND_GETS_API = {
    "name": "frontend-reads-api",
    "selector": {"app": "backend"},
    "action": "ALLOW",
    "rules": [
        {
            "from": [{"principals": ["cluster.local/ns/shop/sa/frontend"]}],
            "to": [{"methods": ["GET"], "paths": ["/api/*"]}],
        }
    ],
}
NO_ADMIN = {
    "name": "no-admin",
    "action": "DENY",
    "rules": [{"to": [{"paths": ["/admin", "/admin/*"]}]}],
}


def test_frontend_may_get_the_api_and_nothing_else_may(
    mesh: Mesh,
    backends: Backends,
    proxies: Callable[..., MeshProxy],
    tmp_path: Path,
) -> None:
    app = Behaviour("app")
    app_port = backends.start(app)
    volume = SecretVolume(tmp_path / "backend-identity")
    volume.write(mesh.issue(sa="backend"))
    port = free_port()
    labels = tmp_path / "labels"
    labels.write_text('app="backend"\npod-template-hash="7d4b9c"\n')
    inbound = proxies(
        "inbound",
        inbound_sidecar(volume, port, [app_port], authz=[FRONTEND_GETS_API]),
        args=("--pod-labels-file", str(labels)),
    )
    ca = mesh.bundle.to_pem()
    target = {"x-meshgate-target-port": str(app_port)}
    frontend = mtls_context(mesh.issue(sa="frontend"), ca, tmp_path)
    other = mtls_context(mesh.issue(sa="other"), ca, tmp_path)

    assert request(port, "GET", "/api/items", context=frontend, headers=target) == (
        200,
        b'{"backend": "app", "path": "/api/items", "received": 0}',
    )
    status, body = request(port, "DELETE", "/api/items", context=frontend, headers=target)
    assert status == 403
    assert b"frontend" not in body
    assert b"policy" not in body
    assert request(port, "GET", "/api/items", context=other, headers=target)[0] == 403
    assert request(port, "GET", "/web", context=frontend, headers=target)[0] == 403

    assert [(s.method, s.path) for s in app.seen] == [("GET", "/api/items")]
    assert inbound.metric("meshproxy_authz_denied_total", listener="inbound") == 3

    def denial_logged() -> bool:
        return any(
            line.get("flags") == "authz_denied"
            and line.get("peer_identity") == spiffe("shop", "other")
            and line.get("status") == 403
            for line in inbound.access_lines()
        )

    wait_until(denial_logged, 5, "the denial in the access log")


def test_a_policy_for_other_pods_does_not_apply_here(
    mesh: Mesh,
    backends: Backends,
    proxies: Callable[..., MeshProxy],
    tmp_path: Path,
) -> None:
    app = Behaviour("app")
    app_port = backends.start(app)
    volume = SecretVolume(tmp_path / "identity")
    volume.write(mesh.issue(sa="reports"))
    port = free_port()
    labels = tmp_path / "labels"
    labels.write_text('app="reports"\n')
    proxies(
        "inbound",
        inbound_sidecar(volume, port, [app_port], authz=[FRONTEND_GETS_API]),
        args=("--pod-labels-file", str(labels)),
    )
    other = mtls_context(mesh.issue(sa="other"), mesh.bundle.to_pem(), tmp_path)

    target = {"x-meshgate-target-port": str(app_port)}
    assert request(port, "DELETE", "/anything", context=other, headers=target)[0] == 200


def test_encoded_paths_do_not_slip_past_a_deny(
    mesh: Mesh,
    backends: Backends,
    proxies: Callable[..., MeshProxy],
    tmp_path: Path,
) -> None:
    app = Behaviour("app")
    app_port = backends.start(app)
    volume = SecretVolume(tmp_path / "backend-identity")
    volume.write(mesh.issue(sa="backend"))
    port = free_port()
    proxies("inbound", inbound_sidecar(volume, port, [app_port], authz=[NO_ADMIN]))
    peer = mtls_context(mesh.issue(sa="frontend"), mesh.bundle.to_pem(), tmp_path)
    target = {"x-meshgate-target-port": str(app_port)}

    tricks = [
        "/admin",
        "/api/%2e%2e/admin",
        "/api/%2E%2E/admin/users",
        "//admin",
        "/API/../admin",
        "/./admin",
        "/api/..%2fadmin/../../admin",
        "/%61dmin",
    ]
    for path in tricks:
        assert request(port, "GET", path, context=peer, headers=target)[0] == 403, path
    assert request(port, "GET", "/api/ok", context=peer, headers=target)[0] == 200

    assert [s.path for s in app.seen] == ["/api/ok"]
