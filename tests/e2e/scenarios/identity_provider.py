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
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from meshgate.certs.ca import create_root_ca
from meshgate.certs.serving import issue_serving_certificate

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
    # meshgate's own CA and serving-certificate code, with a root of the test's own.
    now = dt.datetime.now(dt.UTC)
    ca = create_root_ca("idp.test", now - dt.timedelta(minutes=5))
    issued = issue_serving_certificate(
        ca, service="idp", namespace="e2e", now=now, ip_addresses=(ADDRESS,)
    )
    with tempfile.TemporaryDirectory(prefix="meshgate-idp-") as tmp:
        cert_file, key_file = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
        cert_file.write_text(issued.cert_pem)
        key_file.write_text(issued.key_pem)
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
        ca_pem = ca.cert_pem.encode()
        holder.append(IdentityProvider(ca_pem=ca_pem, port=server.server_address[1]))
        thread = threading.Thread(target=server.serve_forever, name="jwks-server", daemon=True)
        thread.start()
        try:
            yield holder[0]
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
