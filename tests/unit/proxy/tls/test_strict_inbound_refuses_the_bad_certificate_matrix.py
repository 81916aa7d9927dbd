"""Every way a client certificate can be wrong, against a STRICT inbound port.

Some are refused by the handshake (chain, dates, key usage, EKU), some by the identity check
after it (trust domain, SAN shape): both must end with no request served. The well-formed
control case in the same matrix proves the refusals are about the flaw, not the harness.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID
from tls_harness import Mesh, Refused, ask, forge, identity_from, inbound, write_identity

from meshproxy.tls.contexts import mesh_client_context, server_context

NOW = datetime.now(UTC)


def _certs(mesh: Mesh, other: Mesh) -> dict[str, tuple[str, str]]:
    def issued(**kw: object) -> tuple[str, str]:
        got = mesh.issue(**kw)  # type: ignore[arg-type]
        return got.cert_pem, got.key_pem

    return {
        "well-formed": issued(),
        "expired": issued(now=NOW - timedelta(days=2)),
        "not yet valid": issued(now=NOW + timedelta(days=1)),
        "wrong CA": (lambda o: (o.cert_pem, o.key_pem))(other.issue()),
        "wrong trust domain": issued(trust_domain="other.example"),
        "no SPIFFE SAN": forge(mesh.ca, uris=(), dns=("frontend.shop.svc",)),
        "two URI SANs": forge(
            mesh.ca,
            uris=(
                "spiffe://cluster.local/ns/shop/sa/frontend",
                "spiffe://cluster.local/ns/kube-system/sa/admin",
            ),
        ),
        "malformed SPIFFE path": forge(mesh.ca, uris=("spiffe://cluster.local/sa/frontend",)),
        "server-only EKU": forge(mesh.ca, eku=(ExtendedKeyUsageOID.SERVER_AUTH,)),
        "keyEncipherment-only key usage": forge(mesh.ca, key_usage="encipher"),
        "keyCertSign-only key usage": forge(mesh.ca, key_usage="cert-sign"),
    }


CASES = [
    "expired",
    "not yet valid",
    "wrong CA",
    "wrong trust domain",
    "no SPIFFE SAN",
    "two URI SANs",
    "malformed SPIFFE path",
    "server-only EKU",
    "keyEncipherment-only key usage",
    "keyCertSign-only key usage",
]


@pytest.mark.parametrize("case", CASES)
async def test_strict_port_serves_nothing_to_a_client_whose_cert_is(
    case: str, mesh: Mesh, other_mesh: Mesh, tmp_path: Path
) -> None:
    certs = _certs(mesh, other_mesh)
    server = server_context(identity_from(tmp_path / "srv", mesh.issue(sa="backend")), True)
    good = mesh_client_context(
        write_identity(tmp_path / "good", *certs["well-formed"], mesh.bundle.to_pem())
    )
    bad = mesh_client_context(write_identity(tmp_path / "bad", *certs[case], mesh.bundle.to_pem()))
    async with inbound(server, "STRICT") as port:
        with pytest.raises(Refused):
            await ask(port.port, bad)
        assert port.seen == []
        assert await ask(port.port, good) == "spiffe://cluster.local/ns/shop/sa/frontend ping"


# A server certificate with keyEncipherment alone passes OpenSSL's server purpose check (it
# is valid for RSA key exchange); only the mesh CA could issue one and it never does, so the
# mesh client matrix covers the usage OpenSSL does refuse.
@pytest.mark.parametrize(
    "case", ["expired", "not yet valid", "wrong CA", "keyCertSign-only key usage"]
)
async def test_mesh_client_refuses_a_server_whose_cert_is(
    case: str, mesh: Mesh, other_mesh: Mesh, tmp_path: Path
) -> None:
    certs = _certs(mesh, other_mesh)
    server = server_context(
        write_identity(tmp_path / "srv", *certs[case], mesh.bundle.to_pem()), False
    )
    client = mesh_client_context(identity_from(tmp_path / "cli", mesh.issue()))
    async with inbound(server, "PERMISSIVE") as port:
        with pytest.raises(Refused):
            await ask(port.port, client)
