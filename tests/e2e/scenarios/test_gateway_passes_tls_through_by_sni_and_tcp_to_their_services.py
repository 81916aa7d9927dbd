"""TCP and TLS passthrough through the chart-installed operator: a Gateway with a TLS listener
in Passthrough mode and a TCP listener, TLSRoute- and TCPRoute-shaped Routes, and backends that
terminate TLS themselves with certificates of a CA only the client trusts.

A client that verifies the backend's certificate and host name gets each SNI name's own Pod:
proof that the gateway routed by SNI and did not terminate TLS (it holds no certificate). An
unknown name is closed; plain TCP reaches the TCP listener's Service. The same holds through a
standard Gateway API Gateway with a TLSRoute.

Manifests: `passthrough/` (the Gateway, the Routes, the backends, and `standard.yaml`: the
Gateway API Gateway and TLSRoute); the test makes the backends' TLS Secrets.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from scenario_kit import Answer, User, metric_sum, metrics, request

TLS_PORT, TCP_PORT = 8443, 9000
CONVERGE_SECONDS = 20.0


class _CA:
    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "passthrough scenario CA")])
        self.cert = _build(name, name, self.key.public_key(), self.key, ca=True)

    def issue(self, dns: str) -> tuple[bytes, bytes, bytes]:
        """(certificate PEM, key PEM, certificate DER) for `dns`."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns)])
        cert = _build(subject, self.cert.subject, key.public_key(), self.key, dns=dns)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return (
            cert.public_bytes(serialization.Encoding.PEM),
            key_pem,
            cert.public_bytes(serialization.Encoding.DER),
        )

    def client(self) -> ssl.SSLContext:
        context = ssl.create_default_context(
            cadata=self.cert.public_bytes(serialization.Encoding.PEM).decode()
        )
        return context


def _build(
    subject: x509.Name,
    issuer: x509.Name,
    public: ec.EllipticCurvePublicKey,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    dns: str | None = None,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def _tls_secret(name: str, cert_pem: bytes, key_pem: bytes) -> str:
    b64 = base64.b64encode
    return (
        "apiVersion: v1\nkind: Secret\n"
        f"metadata: {{name: {name}}}\ntype: kubernetes.io/tls\n"
        f"data: {{tls.crt: {b64(cert_pem).decode()}, tls.key: {b64(key_pem).decode()}}}\n"
    )


def _tls_get(
    address: str, server_name: str, context: ssl.SSLContext, port: int = TLS_PORT
) -> tuple[Answer, bytes]:
    """GET / over TLS to `address`, SNI and verified host name `server_name`; the answer and
    the certificate the client verified."""
    with (
        socket.create_connection((address, port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        peer = tls.getpeercert(binary_form=True)
        assert peer is not None
        tls.sendall(b"GET /through HTTP/1.1\r\nHost: " + server_name.encode() + b"\r\n\r\n")
        response = http.client.HTTPResponse(tls)  # type: ignore[arg-type]
        response.begin()
        body = response.read(response.length or 0)
        return Answer(response.status, dict(response.getheaders()), body), peer


def test_tls_is_passed_through_to_the_sni_names_pod_and_tcp_to_its_service(user: User) -> None:
    ca = _CA()
    issued = {"alpha": ca.issue("alpha.example.test"), "wild": ca.issue("*.wild.example.test")}
    for name, (cert_pem, key_pem, _) in issued.items():
        user.apply_text(_tls_secret(f"{name}-tls", cert_pem, key_pem))
    user.apply("passthrough")

    pods = {name: user.ready_pods(f"app={name}", 1)[0] for name in ("alpha", "wild", "plain")}
    for route in ("alpha", "wild", "plain"):
        user.condition("routes", route, "Accepted")
        user.condition("routes", route, "Served")
    user.condition("gateways.meshgate.io", "data", "Programmed", timeout=60)
    address = user.gateway_pods("data")[0]["status"]["podIP"]
    context = ca.client()

    for server_name, backend in (("alpha.example.test", "alpha"), ("db.wild.example.test", "wild")):
        seen: list[bytes] = []

        def through(name: str = server_name, seen: list[bytes] = seen) -> Answer:
            answer, peer = _tls_get(address, name, context)
            seen[:] = [peer]
            return answer

        answer = user.answer_within(through, 200, CONVERGE_SECONDS, f"TLS to {server_name}")
        assert answer.json()["pod"] == pods[backend]["metadata"]["name"]
        assert answer.json()["path"] == "/through"
        assert seen == [issued[backend][2]]  # the backend's own certificate, verified

    with pytest.raises((ssl.SSLError, ConnectionError)):
        _tls_get(address, "unknown.example.test", context)

    answer = user.answer_within(
        lambda: request(address, TCP_PORT, "/over-tcp"), 200, CONVERGE_SECONDS, "TCP listener"
    )
    assert answer.json()["pod"] == pods["plain"]["metadata"]["name"]
    assert answer.json()["path"] == "/over-tcp"

    text = metrics(address)
    refused = metric_sum(text, "meshproxy_passthrough_refused_total", reason="no_route")
    assert refused == 1
    forwarded = metric_sum(text, "meshproxy_passthrough_connections_total", listener="tls")
    assert forwarded >= 2

    # The standard Gateway API: a TLS listener in Passthrough mode and a TLSRoute.
    user.condition("gateways.gateway.networking.k8s.io", "standard", "Programmed", timeout=60)
    route = user.get("tlsroutes.gateway.networking.k8s.io", "alpha")
    (parent,) = route["status"]["parents"]
    assert {c["type"]: c["status"] for c in parent["conditions"]} == {
        "Accepted": "True",
        "ResolvedRefs": "True",
    }, parent
    standard = user.gateway_pods("standard")[0]["status"]["podIP"]
    seen: list[bytes] = []

    def through_standard() -> Answer:
        answer, peer = _tls_get(standard, "alpha.example.test", context)
        seen[:] = [peer]
        return answer

    answer = user.answer_within(through_standard, 200, CONVERGE_SECONDS, "TLSRoute to alpha")
    assert answer.json()["pod"] == pods["alpha"]["metadata"]["name"]
    assert seen == [issued["alpha"][2]]
