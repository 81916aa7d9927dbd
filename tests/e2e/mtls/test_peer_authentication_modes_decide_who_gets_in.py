"""STRICT admits only verified mesh peers; PERMISSIVE also admits plaintext, which carries no
identity, so a principal ALLOW rule never matches it. A certificate from another CA is refused
in both modes: PERMISSIVE means "no certificate is fine", not "any certificate is fine"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from mesh_e2e import Mesh, MeshProxy, SecretVolume, inbound_sidecar, mtls_context, refused, request
from meshproxy_e2e import Backends, Behaviour, free_port


@pytest.fixture
def volume(mesh: Mesh, tmp_path: Path) -> SecretVolume:
    volume = SecretVolume(tmp_path / "backend-identity")
    volume.write(mesh.issue(sa="backend"))
    return volume


def test_strict_refuses_plaintext_and_a_foreign_ca_and_serves_a_mesh_peer(
    mesh: Mesh,
    other_mesh: Mesh,
    volume: SecretVolume,
    backends: Backends,
    proxies: Callable[..., MeshProxy],
    tmp_path: Path,
) -> None:
    app = Behaviour("app")
    app_port = backends.start(app)
    port = free_port()
    proxies("inbound", inbound_sidecar(volume, port, [app_port], mode="STRICT"))
    ca = mesh.bundle.to_pem()
    target = {"x-meshgate-target-port": str(app_port)}

    assert refused(port, host=f"backend:{app_port}")
    stranger = mtls_context(other_mesh.issue(sa="frontend"), ca, tmp_path)
    assert refused(port, context=stranger, headers=target)
    anonymous = mtls_context(None, ca, tmp_path)
    assert refused(port, context=anonymous, headers=target)
    assert app.seen == []

    peer = mtls_context(mesh.issue(sa="frontend"), ca, tmp_path)
    assert request(port, context=peer, headers=target)[0] == 200
    assert len(app.seen) == 1


def test_permissive_admits_plaintext_without_identity_and_mesh_peers_with_theirs(
    mesh: Mesh,
    other_mesh: Mesh,
    volume: SecretVolume,
    backends: Backends,
    proxies: Callable[..., MeshProxy],
    tmp_path: Path,
) -> None:
    app = Behaviour("app")
    app_port = backends.start(app)
    port = free_port()
    only_frontend = {
        "name": "only-frontend",
        "action": "ALLOW",
        "rules": [{"from": [{"principals": ["cluster.local/ns/shop/sa/frontend"]}]}],
    }
    anyone_on_health = {
        "name": "health",
        "action": "ALLOW",
        "rules": [{"to": [{"paths": ["/healthz"]}]}],
    }
    proxies(
        "inbound",
        inbound_sidecar(
            volume, port, [app_port], mode="PERMISSIVE", authz=[only_frontend, anyone_on_health]
        ),
    )
    ca = mesh.bundle.to_pem()
    host = f"backend:{app_port}"

    # Plaintext gets in, with no identity: the principal rule does not match it ...
    assert request(port, host=host, path="/healthz")[0] == 200
    assert "x-meshgate-peer-identity" not in app.seen[-1].headers
    assert request(port, host=host, path="/data")[0] == 403
    # ... and a forged identity header neither helps it nor reaches the app.
    forged = {"x-meshgate-peer-identity": "spiffe://cluster.local/ns/shop/sa/frontend"}
    assert request(port, host=host, path="/data", headers=forged)[0] == 403
    assert request(port, host=host, path="/healthz", headers=forged)[0] == 200
    assert "x-meshgate-peer-identity" not in app.seen[-1].headers

    # mTLS on the same port carries the identity, which the rule matches.
    peer = mtls_context(mesh.issue(sa="frontend"), ca, tmp_path)
    target = {"x-meshgate-target-port": str(app_port)}
    assert request(port, context=peer, path="/data", headers=target)[0] == 200
    assert app.seen[-1].path == "/data"

    # A certificate our CA did not sign is refused even here.
    stranger = mtls_context(other_mesh.issue(sa="frontend"), ca, tmp_path)
    assert refused(port, context=stranger, path="/data", headers=target)
