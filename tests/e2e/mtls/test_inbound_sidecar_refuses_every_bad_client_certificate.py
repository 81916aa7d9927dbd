"""Every way a client certificate can be wrong, presented to a running inbound sidecar.

Flaws in the chain, the dates or the key's purpose fail the TLS handshake: the proxy closes the
connection without a word (no alert, no HTTP). Flaws in the identity (trust domain, SAN shape)
pass the handshake and leave the connection with no mesh identity: under STRICT that is a 403,
counted in `meshproxy_peer_authn_refused_total`; under PERMISSIVE it is an anonymous caller, as
plaintext would be. In neither mode does the app learn an identity from an unverified
certificate, forged header or not. A well-formed certificate on the same proxy, over the same
TLS version, gets through, so each refusal is about its flaw and not about the client.

Handshake refusals are counted nowhere: no `meshproxy_*` metric or log line records them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cert_matrix_kit import (
    FRONTEND,
    ClientCert,
    bad_client_certificates,
    client_context,
    good_client_certificate,
    present,
)
from mesh_e2e import Mesh, MeshProxy, SecretVolume, inbound_sidecar
from meshproxy_e2e import Backends, Behaviour, free_port

# CERT_OPTIONAL (PERMISSIVE) still verifies a certificate that is presented; it only lets a
# client present none. So these fail the handshake in both modes.
CHAIN_FLAWS = [
    "expired",
    "not yet valid",
    "wrong CA",
    "serverAuth-only EKU",
    "keyEncipherment-only key usage",
    "keyCertSign-only key usage",
]
IDENTITY_FLAWS = [
    "wrong trust domain",
    "no SPIFFE SAN (DNS only)",
    "two URI SANs",
    "malformed SPIFFE path",
]
# Under TLS 1.3 the server judges the client's certificate after the client's handshake is
# done; under TLS 1.2, inside it.
CHAIN_REFUSAL = {"TLS 1.3": "closed unanswered", "TLS 1.2": "handshake refused"}


@pytest.fixture
def volume(mesh: Mesh, tmp_path: Path) -> SecretVolume:
    volume = SecretVolume(tmp_path / "backend-identity")
    volume.write(mesh.issue(sa="backend"))
    return volume


def _matrix(
    port: int, app_port: int, certs: dict[str, ClientCert], ca: str, tmp: Path
) -> dict[str, dict[str, str]]:
    """{TLS version: {case: outcome}} for every certificate, over both TLS versions."""
    return {
        version: {
            case: present(
                port, client_context(cert, ca, tmp / f"{version}-{i}", tls12=tls12), app_port
            ).outcome
            for i, (case, cert) in enumerate(certs.items())
        }
        for version, tls12 in (("TLS 1.3", False), ("TLS 1.2", True))
    }


def _expected(identity_flaw_outcome: str) -> dict[str, dict[str, str]]:
    return {
        version: {
            **dict.fromkeys(CHAIN_FLAWS, refusal),
            **dict.fromkeys(IDENTITY_FLAWS, identity_flaw_outcome),
        }
        for version, refusal in CHAIN_REFUSAL.items()
    }


def _good_peer_gets_through(
    port: int, app_port: int, mesh: Mesh, ca: str, tmp: Path, app: Behaviour
) -> None:
    for tls12 in (False, True):
        context = client_context(
            good_client_certificate(mesh), ca, tmp / f"good-{tls12}", tls12=tls12
        )
        answer = present(port, context, app_port, forged_identity="spiffe://x/ns/y/sa/z")
        assert answer.outcome == "http 200"
        assert app.seen[-1].headers["x-meshgate-peer-identity"] == FRONTEND


def test_strict_sidecar_refuses_every_flaw_and_the_app_sees_no_request(
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
    proxy = proxies("inbound", inbound_sidecar(volume, port, [app_port], mode="STRICT"))
    ca = mesh.bundle.to_pem()

    observed = _matrix(port, app_port, bad_client_certificates(mesh, other_mesh), ca, tmp_path)

    assert observed == _expected("http 403")
    assert app.seen == []
    refused = proxy.metric("meshproxy_peer_authn_refused_total", listener="inbound")
    assert refused == 2 * len(IDENTITY_FLAWS)  # the 403s; the handshake refusals go uncounted
    _good_peer_gets_through(port, app_port, mesh, ca, tmp_path, app)
    assert len(app.seen) == 2


def test_permissive_sidecar_refuses_broken_chains_and_gives_identity_flaws_no_identity(
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
    proxy = proxies("inbound", inbound_sidecar(volume, port, [app_port], mode="PERMISSIVE"))
    ca = mesh.bundle.to_pem()

    observed = _matrix(port, app_port, bad_client_certificates(mesh, other_mesh), ca, tmp_path)

    assert observed == _expected("http 200")
    # Only the identity flaws reached the app, each as an anonymous caller: neither the
    # certificate's URI SAN nor the forged header became an identity.
    assert len(app.seen) == 2 * len(IDENTITY_FLAWS)
    assert [s.headers.get("x-meshgate-peer-identity") for s in app.seen] == [None] * len(app.seen)
    assert proxy.metric("meshproxy_peer_authn_refused_total", listener="inbound") == 0
    _good_peer_gets_through(port, app_port, mesh, ca, tmp_path, app)
