"""Starting inputs for each target: well-formed messages of the shapes the parsers serve, so the
fuzzer mutates from deep inside each format instead of guessing its first valid byte.

Built by code rather than stored, so they follow the formats as they change; `fuzz.run` writes
them into a corpus directory before each run, and the unit tests replay them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

REPO = Path(__file__).resolve().parents[1]
GOLDEN_CONFIGS = REPO / "tests" / "golden" / "compile" / "expected"


def http1_request() -> list[bytes]:
    host = b"Host: api.example\r\n"
    heads = [
        b"GET / HTTP/1.1\r\n" + host + b"\r\n",
        b"GET /v1/orders?id=7&x=%2F HTTP/1.1\r\n" + host + b"Accept: */*\r\n\r\n"
        b"HEAD /a HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n",
        b"POST /orders HTTP/1.1\r\n" + host + b"Content-Length: 5\r\n\r\nhello",
        b"POST /orders HTTP/1.1\r\n" + host + b"Transfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nTrailer: x\r\n\r\n",
        b"PUT /u HTTP/1.1\r\n" + host + b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
        b"GET http://api.example/abs HTTP/1.1\r\n" + host + b"\r\n",
        b"GET /ws HTTP/1.1\r\n" + host + b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\nxx",
        b"GET /old HTTP/1.0\r\n\r\n",
        b"GET /%2e%2e/a//b/./c HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\n" + host + b"\r\n",
    ]
    return [bytes([step]) + head for head in heads for step in (255, 0, 6)]


def http1_response() -> list[bytes]:
    bodies = [
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: text/plain\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the close",
        b"HTTP/1.0 200 OK\r\n\r\nold style",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
        b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nconnection: x-a, keep-alive\r\nx-a: 1\r\nx-b: 2\r\n"
        b"content-length: 0\r\n\r\n",
        b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 3\r\n\r\nbad",
    ]
    return [bytes([choice]) + body for body in bodies for choice in (0, 1, 2, 0xFC)]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _jwk_rsa(kid: str) -> dict[str, str]:
    numbers = rsa.generate_private_key(65537, 2048).public_key().public_numbers()
    return {
        "kty": "RSA",
        "kid": kid,
        "alg": "RS256",
        "use": "sig",
        "n": _b64(numbers.n.to_bytes(256, "big")),
        "e": _b64(numbers.e.to_bytes(3, "big")),
    }


def _jwk_ec(kid: str, curve: ec.EllipticCurve, crv: str, size: int) -> dict[str, str]:
    numbers = ec.generate_private_key(curve).public_key().public_numbers()
    return {
        "kty": "EC",
        "kid": kid,
        "crv": crv,
        "x": _b64(numbers.x.to_bytes(size, "big")),
        "y": _b64(numbers.y.to_bytes(size, "big")),
    }


def jwks_document() -> list[bytes]:
    okp = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    keys = [
        _jwk_rsa("r1"),
        _jwk_ec("e256", ec.SECP256R1(), "P-256", 32),
        _jwk_ec("e384", ec.SECP384R1(), "P-384", 48),
        _jwk_ec("e521", ec.SECP521R1(), "P-521", 66),
        {"kty": "OKP", "crv": "Ed25519", "kid": "o1", "x": _b64(okp)},
        {"kty": "EC", "crv": "P-256K", "kid": "skipped", "x": "AA", "y": "AA"},
        {"kty": "RSA", "use": "enc", "kid": "enc", "n": "AQAB", "e": "AQAB"},
    ]
    docs = [{"keys": [key]} for key in keys[:5]]
    docs.append({"keys": keys})
    docs.append({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})
    return [json.dumps(doc).encode() for doc in docs]


def jwt_token() -> list[bytes]:
    from fuzz.targets.jwt_token import ENCODED, ISSUER, NOW, RAW, SIGNED, encode

    header = json.dumps({"alg": "ES256", "typ": "JWT", "kid": "k1"}).encode()
    claims = {
        "iss": ISSUER,
        "aud": ["api", "other"],
        "sub": "user-1\r\nx-injected: 1",
        "exp": NOW + 600,
        "nbf": NOW - 10,
        "org": {"team": "payments", "tags": ["a", "é"]},
    }
    payload = json.dumps(claims).encode()
    return [
        encode(SIGNED, header, payload),
        encode(SIGNED, header, json.dumps({**claims, "exp": NOW - 600}).encode()),
        encode(SIGNED, json.dumps({"alg": "ES256"}).encode(), payload),
        encode(ENCODED, json.dumps({"alg": "none"}).encode(), payload, b""),
        encode(ENCODED, json.dumps({"alg": "HS256", "kid": "k1"}).encode(), payload, b"sig"),
        encode(ENCODED, header, payload, bytes(64)),
        encode(RAW, b"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"),
    ]


def proxy_config() -> list[bytes]:
    """Every proxy config the compiler's golden cases produce, one per input."""
    seeds = []
    for path in sorted(GOLDEN_CONFIGS.glob("*.json")):
        for cfg in json.loads(path.read_text()).get("configs", {}).values():
            seeds.append(json.dumps(cfg, separators=(",", ":")).encode())
    return seeds


def tls_client_hello() -> list[bytes]:
    """Real ClientHellos made by OpenSSL (with and without SNI, TLS 1.2 and 1.3 only), and one
    cut into two records."""
    seeds = []
    for name, tls13 in (("db.example.com", False), (None, False), ("a.b.example.org", True)):
        context = ssl.create_default_context()
        if tls13:
            context.minimum_version = ssl.TLSVersion.TLSv1_3
        if name is None:
            context.check_hostname = False
        outgoing = ssl.MemoryBIO()
        tls = context.wrap_bio(ssl.MemoryBIO(), outgoing, server_hostname=name)
        with contextlib.suppress(ssl.SSLWantReadError):
            tls.do_handshake()
        seeds.append(outgoing.read())
    body = seeds[0][5:]
    half = len(body) // 2
    seeds.append(
        b"\x16\x03\x01"
        + half.to_bytes(2, "big")
        + body[:half]
        + b"\x16\x03\x01"
        + (len(body) - half).to_bytes(2, "big")
        + body[half:]
    )
    return seeds


SEEDS: dict[str, Callable[[], list[bytes]]] = {
    "http1_request": http1_request,
    "http1_response": http1_response,
    "jwt_token": jwt_token,
    "jwks_document": jwks_document,
    "proxy_config": proxy_config,
    "tls_client_hello": tls_client_hello,
}
