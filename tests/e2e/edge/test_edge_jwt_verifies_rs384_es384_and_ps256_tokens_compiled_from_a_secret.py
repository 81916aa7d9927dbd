"""JWT at the edge through the operator and a real gateway proxy: a JWKS kept in a Secret holds
an RSA, a P-384 and a PS256-only key; RS384, ES384 and PS256 tokens signed by them pass with
their claims forwarded, and expired, misdirected, unsigned, HMAC and tampered ones get 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from compiled_edge import backend, compile_gateway
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from edge_e2e import EchoBackend, echoed
from meshproxy_e2e import Client, free_port, running

pytestmark = pytest.mark.e2e

ISSUER = "https://login.shop.test"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64int(value: int, size: int = 0) -> str:
    return b64(value.to_bytes(size or (value.bit_length() + 7) // 8, "big"))


RSA_KEY = rsa.generate_private_key(65537, 2048)
PSS_KEY = rsa.generate_private_key(65537, 2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())


def _jwks() -> dict[str, Any]:
    rsa_numbers = RSA_KEY.public_key().public_numbers()
    pss_numbers = PSS_KEY.public_key().public_numbers()
    ec_numbers = EC_KEY.public_key().public_numbers()
    return {
        "keys": [
            {"kty": "RSA", "kid": "rsa", "n": b64int(rsa_numbers.n), "e": b64int(rsa_numbers.e)},
            {
                "kty": "RSA",
                "kid": "pss",
                "alg": "PS256",
                "n": b64int(pss_numbers.n),
                "e": b64int(pss_numbers.e),
            },
            {
                "kty": "EC",
                "kid": "p384",
                "crv": "P-384",
                "x": b64int(ec_numbers.x, 48),
                "y": b64int(ec_numbers.y, 48),
            },
        ]
    }


def _sign(alg: str, data: bytes) -> bytes:
    if alg == "RS384":
        return RSA_KEY.sign(data, padding.PKCS1v15(), hashes.SHA384())
    if alg == "PS256":
        pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)
        return PSS_KEY.sign(data, pss, hashes.SHA256())
    r, s = decode_dss_signature(EC_KEY.sign(data, ec.ECDSA(hashes.SHA384())))
    return r.to_bytes(48, "big") + s.to_bytes(48, "big")


KIDS = {"RS384": "rsa", "PS256": "pss", "ES384": "p384"}


def token(alg: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "sub": "user-42", "aud": "shop", "exp": now + 300, **claims}
    head = b64(json.dumps({"alg": alg, "kid": KIDS.get(alg, "rsa"), "typ": "JWT"}).encode())
    signing_input = f"{head}.{b64(json.dumps(body).encode())}"
    return f"{signing_input}.{b64(_sign(alg, signing_input.encode()))}"


def _manifests(echo_port: int) -> str:
    jwks = json.dumps(_jwks())
    return f"""
apiVersion: meshgate.io/v1alpha1
kind: Gateway
metadata: {{name: edge}}
spec:
  listeners: [{{name: http, port: 8080, protocol: HTTP}}]
---
apiVersion: meshgate.io/v1alpha1
kind: Route
metadata: {{name: api}}
spec:
  parentRefs: [{{name: edge}}]
  rules: [{{backendRefs: [{{name: echo, port: {echo_port}}}]}}]
---
apiVersion: meshgate.io/v1alpha1
kind: EdgeAuthentication
metadata: {{name: tokens}}
spec:
  targetRefs: [{{kind: Gateway, name: edge}}]
  jwt:
    providers:
      - name: login
        issuer: {ISSUER}
        audiences: [shop]
        jwks: {{secretRef: {{name: login-jwks, key: jwks.json}}}}
        claimToHeaders: [{{claim: sub, header: x-user}}]
---
apiVersion: v1
kind: Secret
metadata: {{name: login-jwks}}
stringData:
  jwks.json: '{jwks}'
""" + backend(echo_port)


def test_each_algorithm_passes_and_every_forgery_is_refused(
    tmp_path: Path, echo: EchoBackend
) -> None:
    port = free_port()
    compiled = compile_gateway(_manifests(echo.port), tmp_path / "pod", port)
    with running(tmp_path, compiled.config) as proxy:
        client = Client(port)

        def ask(bearer: str) -> tuple[int, bytes]:
            status, _, body = client.request(
                "GET", "/orders", headers={"Authorization": f"Bearer {bearer}"}
            )
            return status, body

        for alg in ("RS384", "PS256", "ES384"):
            status, body = ask(token(alg))
            assert status == 200, alg
            assert echoed(body, "x-user") == ["user-42"]

        forged: dict[str, Callable[[], str]] = {
            "expired": lambda: token("ES384", exp=int(time.time()) - 600),
            "wrong audience": lambda: token("RS384", aud="other"),
            "alg none": lambda: _unsigned(token("RS384")),
            "HS256 keyed with the public key": lambda: _hmac(token("RS384")),
            "RS256 under a PS256-only key": lambda: _resigned("RS256", "pss"),
            "tampered": lambda: _tampered(token("PS256")),
            "unknown kid": lambda: _resigned("RS384", "rotated"),
        }
        for name, make in forged.items():
            assert ask(make())[0] == 401, name
        assert client.request("GET", "/orders")[0] == 401
        assert proxy.metric("meshproxy_authn_failures_total") >= len(forged) + 1
        client.close()


def _resigned(alg: str, kid: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "user-42", "aud": "shop", "exp": now + 300}
    head = b64(json.dumps({"alg": alg, "kid": kid}).encode())
    signing_input = f"{head}.{b64(json.dumps(claims).encode())}"
    signature = RSA_KEY.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


def _tampered(good: str) -> str:
    head, _, signature = good.split(".")
    now = int(time.time())
    admin = {"iss": ISSUER, "sub": "admin", "aud": "shop", "exp": now + 300}
    return f"{head}.{b64(json.dumps(admin).encode())}.{signature}"


def _unsigned(good: str) -> str:
    _, payload, _ = good.split(".")
    return f"{b64(json.dumps({'alg': 'none', 'kid': 'rsa'}).encode())}.{payload}."


def _hmac(good: str) -> str:
    _, payload, _ = good.split(".")
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': 'rsa'}).encode())}.{payload}"
    public = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"
