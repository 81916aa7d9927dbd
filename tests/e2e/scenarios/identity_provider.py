"""A token issuer for the JWT scenarios: signing keys, tokens, and its JWKS served over HTTPS.

`IdentityProvider` serves `/jwks.json` on 127.0.0.1 (every Pod process of the local harness
shares the test's network namespace) with a certificate from its own CA, which the test adds to
the node's trust store (`NodeAgent.trust`), as an operator bakes a private CA into images. The
served key set can be swapped at any time (`publish`), as a provider rotating its keys does, and
every fetch is counted. The server runs on a thread and is shut down when the block ends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

ADDRESS = "127.0.0.1"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    algorithm: str

    @classmethod
    def rsa(cls, kid: str) -> SigningKey:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")

    @classmethod
    def ec(cls, kid: str) -> SigningKey:
        return cls(kid, ec.generate_private_key(ec.SECP256R1()), "ES256")

    def jwk(self) -> dict[str, Any]:
        algo = (
            jwt.algorithms.RSAAlgorithm if self.algorithm == "RS256" else jwt.algorithms.ECAlgorithm
        )
        public: dict[str, Any] = json.loads(algo.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def token(
        self, issuer: str, subject: str, *, audience: str | None = None, ttl: float = 300
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": issuer, "sub": subject, "iat": now, "exp": now + int(ttl)}
        if audience is not None:
            claims["aud"] = audience
        return jwt.encode(claims, self.private, algorithm=self.algorithm, headers={"kid": self.kid})


def jwks(*keys: SigningKey) -> str:
    return json.dumps({"keys": [k.jwk() for k in keys]}, separators=(",", ":"))


@dataclass
class IdentityProvider:
    ca_pem: bytes
    port: int
    _published: list[str] = field(default_factory=lambda: ['{"keys":[]}'])
    fetches: int = 0

    @property
    def jwks_uri(self) -> str:
        return f"https://{ADDRESS}:{self.port}/jwks.json"

    def publish(self, *keys: SigningKey) -> None:
        self._published[:] = [jwks(*keys)]

    def document(self) -> str:
        self.fetches += 1
        return self._published[0]


@contextlib.contextmanager
def serving_jwks() -> Iterator[IdentityProvider]:
    """An HTTPS JWKS endpoint on 127.0.0.1 with a fresh CA; stopped when the block ends."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("meshgate e2e identity provider CA", ca_key, ca_key, None, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(ADDRESS, key, ca_key, ca_cert, ca=False)
    with tempfile.TemporaryDirectory(prefix="meshgate-idp-") as tmp:
        cert_file, key_file = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        holder: list[IdentityProvider] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks.json":
                    self.send_error(404)
                    return
                body = holder[0].document().encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer((ADDRESS, 0), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
        holder.append(IdentityProvider(ca_pem=ca_pem, port=server.server_address[1]))
        thread = threading.Thread(target=server.serve_forever, name="jwks-server", daemon=True)
        thread.start()
        try:
            yield holder[0]
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


def _certificate(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    signer: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    *,
    ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(name))]),
            critical=False,
        )
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        assert issuer is not None
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256())
