"""JWT bearer tokens (`meshproxy.policy.jwt`): `bearer_token` reads the header value,
`JwtVerifier.verify` judges the token, `claim_headers` turns a verified token's claims into
request headers.

The first byte chooses how the rest becomes a token (`encode` is the inverse, for seeds): as it
is; as header, payload and signature segments the harness base64url-encodes (so the JSON parsing
and the policy checks are reached); or as header and payload JSON the harness signs with the
provider's real ES256 key (so the claim checks and the claim headers are reached with
attacker-chosen claims). Segment lengths are 2-byte big-endian prefixes. Whatever the token, the
verifier returns a result without raising, a failure says only fixed text, and a success
carries the configured issuer, a valid expiry, and claim headers without control characters.
"""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from meshproxy import config
from meshproxy.policy import jwt
from meshproxy.policy.jwks import parse_jwks

ISSUER = "https://issuer.example"
NOW = 1_800_000_000.0
# A fixed private scalar: the same key every run, so saved inputs replay the same way.
_KEY = ec.derive_private_key(0x5EED_F00D_CAFE_BEEF, ec.SECP256R1())
_PUBLIC = _KEY.public_key().public_numbers()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


JWKS = json.dumps(
    {
        "keys": [
            {
                "kty": "EC",
                "crv": "P-256",
                "kid": "k1",
                "x": _b64(_PUBLIC.x.to_bytes(32, "big")),
                "y": _b64(_PUBLIC.y.to_bytes(32, "big")),
            }
        ]
    }
)
PROVIDER = config.JwtProvider(
    issuer=ISSUER,
    audiences=["api"],
    jwks=JWKS,
    claim_to_headers=[
        config.ClaimToHeader(claim="sub", header="x-user"),
        config.ClaimToHeader(claim="org.team", header="x-team"),
    ],
)
_KEYS = parse_jwks(JWKS)
# Every description a failure may carry: fixed text, never a piece of the token.
_DESCRIPTIONS = {
    value.description
    for value in vars(jwt).values()
    if isinstance(value, jwt.JwtResult) and not value.ok
}


def _sign(header: bytes, payload: bytes) -> str:
    signing_input = f"{_b64(header)}.{_b64(payload)}"
    r, s = decode_dss_signature(_KEY.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


RAW, ENCODED, SIGNED = 0, 1, 2


def _cut(data: bytes) -> tuple[bytes, bytes]:
    size = int.from_bytes(data[:2], "big")
    return data[2 : 2 + size], data[2 + size :]


def _token(data: bytes) -> str:
    mode = data[0] % 3 if data else RAW
    rest = data[1:]
    if mode == RAW:
        return rest.decode("utf-8", "replace")
    header, rest = _cut(rest)
    if mode == ENCODED:
        payload, signature = _cut(rest)
        return f"{_b64(header)}.{_b64(payload)}.{_b64(signature)}"
    return _sign(header, rest)


def encode(mode: int, *segments: bytes) -> bytes:
    """The input `_token` reads back as these segments (the last one without a length)."""
    out = bytes([mode])
    for segment in segments[:-1]:
        out += len(segment).to_bytes(2, "big") + segment
    return out + (segments[-1] if segments else b"")


def one_input(data: bytes) -> None:
    token = _token(data)
    value = f"Bearer {token}"
    read = jwt.bearer_token(value)
    if read is not None and read != token.strip():
        raise AssertionError("bearer_token returned something other than the token")
    # A fresh verifier per input: its cache must not carry one input's result into the next.
    verifier = jwt.JwtVerifier([PROVIDER], lambda issuer: _KEYS)
    result = verifier.verify(token, NOW)
    if not result.ok:
        if result.description not in _DESCRIPTIONS:
            raise AssertionError(f"failure description not from the fixed set: {result!r}")
        return
    if result.issuer != ISSUER or result.provider is not PROVIDER:
        raise AssertionError("a token verified for an issuer that is not configured")
    exp = result.claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float) or exp + 60 <= NOW:
        raise AssertionError(f"a token verified with exp {exp!r}")
    for name, text in jwt.claim_headers(result, PROVIDER):
        if any((c < " " and c != "\t") or c == "\x7f" or c > "\x7f" for c in text):
            raise AssertionError(f"claim header {name} carries {text!r}")
        if len(text) > 4096:
            raise AssertionError(f"claim header {name} is {len(text)} characters")
    if verifier.verify(token, NOW) != result:
        raise AssertionError("the cached verdict differs from the first one")
