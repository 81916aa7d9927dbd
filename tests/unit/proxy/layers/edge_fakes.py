"""Requests, a recording next handler and signed tokens for the edge layer tests."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from meshproxy.http.message import Exchange, Request, Response

ISSUER = "https://id.example.test"
NOW = 1_700_000_000.0


def request(
    headers: list[tuple[str, str]] | None = None, query: str = "", client_ip: str = "192.0.2.1"
) -> Exchange:
    message = Request("GET", "/", query, list(headers or []), "app.test", None, "1.1", True)
    return Exchange(message, client_ip, "http", time.perf_counter())


class Recorder:
    """The next handler: remembers what reached it and answers 200."""

    def __init__(self) -> None:
        self.seen: list[Exchange] = []

    async def __call__(self, req: Exchange) -> Response:
        self.seen.append(req)
        return Response(200, [("content-type", "text/plain")], b"ok")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Es256Key:
    """An ES256 signing key and its public JWK."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self._key = ec.generate_private_key(ec.SECP256R1())
        numbers = self._key.public_key().public_numbers()
        self.jwk = {
            "kty": "EC",
            "crv": "P-256",
            "kid": kid,
            "x": b64(numbers.x.to_bytes(32, "big")),
            "y": b64(numbers.y.to_bytes(32, "big")),
        }

    def token(self, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        head = {"alg": "ES256", "typ": "JWT", "kid": self.kid, **(header or {})}
        signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(claims).encode())}"
        der = self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def jwks(*keys: Es256Key) -> str:
    return json.dumps({"keys": [k.jwk for k in keys]})


def claims(**extra: Any) -> dict[str, Any]:
    return {"iss": ISSUER, "sub": "user-1", "aud": "shop", "exp": NOW + 300, **extra}


def unsigned(claims_: dict[str, Any]) -> str:
    head = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{head}.{b64(json.dumps(claims_).encode())}."


Clock = Callable[[], float]
