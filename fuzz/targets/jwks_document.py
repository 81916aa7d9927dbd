"""JWKS documents (`meshproxy.policy.jwks.parse_jwks`), as a provider's `jwksUri` or an inline
`jwks` hands them over: any bytes either give a key set or are refused with `JwksError`, and an
accepted set holds only asymmetric public keys for the algorithms the verifier allows."""

from __future__ import annotations

from meshproxy.policy.jwks import ALLOWED_ALGS, MAX_KEYS, JwksError, parse_jwks


def one_input(data: bytes) -> None:
    try:
        keys = parse_jwks(data)
    except JwksError:
        return
    if not keys.keys or len(keys.keys) > MAX_KEYS:
        raise AssertionError(f"an accepted key set holds {len(keys.keys)} keys")
    for key in keys.keys:
        if key.kty not in ("RSA", "EC", "OKP"):
            raise AssertionError(f"accepted key type {key.kty!r}")
        if not key.algorithms or not key.algorithms <= ALLOWED_ALGS:
            raise AssertionError(f"accepted algorithms {sorted(key.algorithms)}")
        if hasattr(key.public, "private_bytes"):
            raise AssertionError("an accepted key is a private key")
