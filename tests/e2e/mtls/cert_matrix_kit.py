"""The bad client certificates of the mesh certificate matrix, and one request presenting each.

Certificates the operator's issuer can produce come from it (with a shifted clock or another
trust domain); the ones it never would come from the TLS unit harness's `forge`, so the unit
matrix and this one test the same flaws. `present` tells apart *how* a server refused: inside
the client's handshake, by closing the connection before any answer, or with an HTTP status.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.x509.oid import ExtendedKeyUsageOID
from mesh_e2e import TD, Mesh

from meshgate.certs.workload import issue_workload_certificate

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "proxy" / "tls"))

from tls_harness import forge  # found through the path set just above

FRONTEND = f"spiffe://{TD}/ns/shop/sa/frontend"


@dataclass(frozen=True)
class ClientCert:
    cert_pem: str
    key_pem: str


def _issued(mesh: Mesh, *, now: datetime | None = None, trust_domain: str = TD) -> ClientCert:
    got = issue_workload_certificate(
        mesh.ca,
        mesh.bundle,
        trust_domain=trust_domain,
        namespace="shop",
        service_account="frontend",
        now=now or datetime.now(UTC),
        validity=timedelta(hours=24),
    )
    return ClientCert(got.cert_pem, got.key_pem)


def good_client_certificate(mesh: Mesh) -> ClientCert:
    return _issued(mesh)


def bad_client_certificates(mesh: Mesh, other_mesh: Mesh) -> dict[str, ClientCert]:
    """Each case has exactly one flaw; everything else is what a `sa/frontend` peer presents."""
    now = datetime.now(UTC)

    def forged(**flaw: object) -> ClientCert:
        return ClientCert(*forge(mesh.ca, **flaw))  # type: ignore[arg-type]

    return {
        "expired": _issued(mesh, now=now - timedelta(days=2)),
        "not yet valid": _issued(mesh, now=now + timedelta(days=1)),
        "wrong CA": _issued(other_mesh),
        "wrong trust domain": _issued(mesh, trust_domain="other.example"),
        "no SPIFFE SAN (DNS only)": forged(uris=(), dns=("frontend.shop.svc",)),
        "two URI SANs": forged(uris=(FRONTEND, f"spiffe://{TD}/ns/kube-system/sa/admin")),
        "malformed SPIFFE path": forged(uris=(f"spiffe://{TD}/sa/frontend",)),
        "serverAuth-only EKU": forged(eku=(ExtendedKeyUsageOID.SERVER_AUTH,)),
        "keyEncipherment-only key usage": forged(key_usage="encipher"),
        "keyCertSign-only key usage": forged(key_usage="cert-sign"),
    }


def client_context(
    cert: ClientCert, ca_pem: str, directory: Path, *, tls12: bool = False
) -> ssl.SSLContext:
    """A stdlib client presenting `cert` and verifying the server against the mesh CA.

    `tls12` pins TLS 1.2, where the server judges the client's certificate inside the
    handshake: its alert then reaches the client before any request is sent.
    """
    ctx = ssl.create_default_context(cadata=ca_pem)
    ctx.check_hostname = False  # mesh certificates carry a SPIFFE URI, no DNS name
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tls.crt").write_text(cert.cert_pem)
    (directory / "tls.key").write_text(cert.key_pem)
    ctx.load_cert_chain(directory / "tls.crt", directory / "tls.key")
    return ctx


@dataclass(frozen=True)
class Answer:
    """`handshake refused`, `closed unanswered` (after the client's handshake), or `http <status>`,
    with the app-facing headers of an HTTP answer."""

    outcome: str
    headers: dict[str, str]


def present(
    port: int, context: ssl.SSLContext, app_port: int, forged_identity: str = FRONTEND
) -> Answer:
    """One GET on a new connection that names the app's port both ways a caller can (Host, and
    the target-port header a mesh peer sends) and forges the identity header it wishes it had.

    Under TLS 1.3 the client's handshake is over before the server has judged the client's
    certificate, so a refused certificate shows as a connection closed unanswered; under TLS
    1.2 it fails the client's handshake itself. The proxy sends no alert either way.
    """
    head = (
        f"GET /matrix HTTP/1.1\r\nHost: backend:{app_port}\r\n"
        f"x-meshgate-target-port: {app_port}\r\n"
        f"x-meshgate-peer-identity: {forged_identity}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        try:
            tls = context.wrap_socket(raw)
        except (ssl.SSLError, ConnectionError):
            return Answer("handshake refused", {})
        with tls:
            try:
                tls.sendall(head)
                response = http.client.HTTPResponse(tls)
                response.begin()
                response.read()
            except (ssl.SSLError, ConnectionError):  # RemoteDisconnected is one
                return Answer("closed unanswered", {})
            headers = {k.lower(): v for k, v in response.getheaders()}
            return Answer(f"http {response.status}", headers)
