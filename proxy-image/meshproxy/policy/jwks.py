"""JSON Web Key Sets: which public keys may sign tokens for a provider, and when to refetch them.

`parse_jwks` turns a JWKS document (RFC 7517) into verification keys by `kid`: RSA (`n`, `e`,
for RS256), EC P-256 (`x`, `y`, for ES256) and OKP Ed25519 (`x`, for EdDSA). The numbers stay
plain bytes and ints here; `meshproxy.policy.jwt` builds the crypto objects from them. Symmetric
(`kty: oct`) keys, keys carrying private parts and malformed keys fail the whole document with
a message that names the key and the problem: a provider's key set that has them is misconfigured,
and guessing which half of it to trust would be worse. Well-formed keys this proxy cannot use
(encryption keys, other curves, other algorithms) are skipped and listed in `JwkSet.skipped`.

`JwksCache` decides when a remotely fetched set is refetched: every `cache_seconds`; after a
failure, not before a growing back-off (negative caching, so an unreachable provider is not
hammered); and when a token names an unknown `kid` (the provider may have rotated), at most once
per `min_refetch_seconds`, whatever the kid, so random kids cannot drive refetches. The last good
set keeps serving while refetches fail: a provider outage must not log every user out.

This module must never do I/O, read the clock (`now` is passed in, in seconds) or log key
material.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "MAX_JWKS_BYTES",
    "MAX_KEYS",
    "JwkKey",
    "JwkSet",
    "JwksCache",
    "JwksError",
    "b64url_decode",
    "parse_jwks",
]

MAX_JWKS_BYTES = 256 * 1024
MAX_KEYS = 64  # real providers publish a handful; a longer list is a mistake or an attack
MIN_RSA_BITS = 2048

KeyType = Literal["RSA", "EC", "OKP"]
Algorithm = Literal["RS256", "ES256", "EdDSA"]

# The one algorithm each usable key type signs with here: a key never verifies another alg.
ALG_FOR_KTY: Mapping[str, Algorithm] = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}

# P-256 (SEC 2 secp256r1): y^2 = x^3 - 3x + b (mod p). Checked here so a bad point is a clear
# parse error rather than a verification failure on every token.
_P256_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
_P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


class JwksError(ValueError):
    """The key set cannot be used; the message says which key and why (never key material)."""


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url strictly: only the URL-safe alphabet, no padding, no spaces."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


@dataclass(frozen=True, slots=True)
class JwkKey:
    """One public verification key. `n`/`e` for RSA; `x` (and `y` for EC) for the curves."""

    kid: str | None
    kty: KeyType
    alg: Algorithm
    n: int = 0
    e: int = 0
    x: bytes = b""
    y: bytes = b""

    def __repr__(self) -> str:  # key numbers are public, but long and useless in a log line
        return f"JwkKey(kid={self.kid!r}, kty={self.kty!r}, alg={self.alg!r})"


@dataclass(frozen=True, slots=True)
class JwkSet:
    keys: tuple[JwkKey, ...]
    skipped: tuple[str, ...] = ()  # why each unusable key was left out, for the runtime's log
    _by_kid: dict[str, JwkKey] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key in self.keys:
            if key.kid is not None:
                self._by_kid[key.kid] = key

    def find(self, kid: str | None) -> JwkKey | None:
        """The key a token's `kid` names. A token without a kid, or a set of one key without a
        kid, is matched only when that leaves exactly one key: guessing among several is not
        verification."""
        if kid is not None:
            found = self._by_kid.get(kid)
            if found is not None:
                return found
            if len(self.keys) == 1 and self.keys[0].kid is None:
                return self.keys[0]
            return None
        return self.keys[0] if len(self.keys) == 1 else None


def parse_jwks(document: str | bytes) -> JwkSet:
    """Parse a JWKS JSON document; raise `JwksError` saying what is wrong."""
    if len(document) > MAX_JWKS_BYTES:
        raise JwksError(f"JWKS is larger than {MAX_JWKS_BYTES} bytes")
    try:
        data = json.loads(document)
    except (ValueError, UnicodeDecodeError):
        raise JwksError("JWKS is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise JwksError('JWKS must be a JSON object with a "keys" list')
    entries: list[object] = data["keys"]
    if len(entries) > MAX_KEYS:
        raise JwksError(f"JWKS has {len(entries)} keys; at most {MAX_KEYS} are accepted")
    keys: list[JwkKey] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"key {index}"
        if not isinstance(entry, dict):
            raise JwksError(f"{where}: not a JSON object")
        kid = entry.get("kid")
        if kid is not None:
            if not isinstance(kid, str):
                raise JwksError(f"{where}: kid must be a string")
            where = f"key {index} (kid {kid!r})"
        key = _parse_key(entry, kid, where, skipped)
        if key is None:
            continue
        if kid is not None:
            if kid in seen:
                raise JwksError(f"{where}: kid used by more than one key")
            seen.add(kid)
        keys.append(key)
    if not keys:
        raise JwksError("JWKS has no usable signature key (RS256, ES256 or EdDSA)")
    return JwkSet(tuple(keys), tuple(skipped))


def _parse_key(
    entry: dict[str, object], kid: str | None, where: str, skipped: list[str]
) -> JwkKey | None:
    kty = entry.get("kty")
    if kty == "oct":
        raise JwksError(f"{where}: symmetric (kty oct) keys are not accepted")
    if not isinstance(kty, str):
        raise JwksError(f"{where}: kty is missing")
    present = [m for m in _PRIVATE_MEMBERS if m in entry]
    if present:
        raise JwksError(f"{where}: holds private key material ({', '.join(present)})")
    use = entry.get("use")
    if use is not None and use != "sig":
        skipped.append(f"{where}: use {use!r} is not for signatures")
        return None
    ops = entry.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        skipped.append(f"{where}: key_ops does not allow verify")
        return None
    if kty not in ALG_FOR_KTY:
        skipped.append(f"{where}: key type {kty!r} is not supported")
        return None
    alg = ALG_FOR_KTY[kty]
    declared = entry.get("alg")
    if declared is not None and declared != alg:
        if declared in ("none",) or (isinstance(declared, str) and declared.startswith("HS")):
            raise JwksError(f"{where}: alg {declared!r} is not accepted")
        skipped.append(f"{where}: alg {declared!r} is not supported")
        return None
    if kty == "RSA":
        n = _int_member(entry, "n", where)
        e = _int_member(entry, "e", where)
        if n.bit_length() < MIN_RSA_BITS:
            raise JwksError(f"{where}: RSA modulus shorter than {MIN_RSA_BITS} bits")
        if e < 3 or e % 2 == 0:
            raise JwksError(f"{where}: RSA exponent must be odd and at least 3")
        return JwkKey(kid=kid, kty="RSA", alg="RS256", n=n, e=e)
    crv = entry.get("crv")
    if kty == "EC":
        if crv != "P-256":
            skipped.append(f"{where}: curve {crv!r} is not supported")
            return None
        x = _bytes_member(entry, "x", where, 32)
        y = _bytes_member(entry, "y", where, 32)
        if not _on_p256(int.from_bytes(x, "big"), int.from_bytes(y, "big")):
            raise JwksError(f"{where}: point is not on curve P-256")
        return JwkKey(kid=kid, kty="EC", alg="ES256", x=x, y=y)
    if crv != "Ed25519":
        skipped.append(f"{where}: curve {crv!r} is not supported")
        return None
    return JwkKey(kid=kid, kty="OKP", alg="EdDSA", x=_bytes_member(entry, "x", where, 32))


def _bytes_member(entry: dict[str, object], name: str, where: str, size: int = 0) -> bytes:
    value = entry.get(name)
    if not isinstance(value, str) or not value:
        raise JwksError(f"{where}: {name} is missing")
    try:
        raw = b64url_decode(value)
    except ValueError:
        raise JwksError(f"{where}: {name} is not base64url") from None
    if size and len(raw) != size:
        raise JwksError(f"{where}: {name} must be {size} bytes, not {len(raw)}")
    return raw


def _int_member(entry: dict[str, object], name: str, where: str) -> int:
    return int.from_bytes(_bytes_member(entry, name, where), "big")


def _on_p256(x: int, y: int) -> bool:
    p = _P256_P
    if not (0 <= x < p and 0 <= y < p):
        return False
    return (y * y - (x * x * x - 3 * x + _P256_B)) % p == 0


class JwksCache:
    """Refetch schedule for one provider's remote key set (see the module docstring).

    The runtime's loop asks `due(now)`, fetches when it is, and reports `fetched` or `failed`;
    between fetches it sleeps `wait(now)` seconds, or less when `unknown_kid` returns True.
    """

    __slots__ = (
        "_failures",
        "_last_attempt",
        "_next_fetch",
        "cache_seconds",
        "keys",
        "last_error",
        "max_backoff_seconds",
        "min_refetch_seconds",
    )

    def __init__(
        self,
        cache_seconds: float = 300,
        min_refetch_seconds: float = 30,
        max_backoff_seconds: float = 300,
        initial: JwkSet | None = None,
        now: float = 0.0,
    ) -> None:
        self.cache_seconds = max(1.0, cache_seconds)
        self.min_refetch_seconds = min_refetch_seconds
        self.max_backoff_seconds = max(1.0, max_backoff_seconds)
        self.keys = initial
        self.last_error: str | None = None
        self._failures = 0
        self._last_attempt: float | None = now if initial is not None else None
        self._next_fetch = now + self.cache_seconds if initial is not None else now

    def due(self, now: float) -> bool:
        return now >= self._next_fetch

    def wait(self, now: float) -> float:
        """Seconds until the next fetch is due (0 when it is)."""
        return max(0.0, self._next_fetch - now)

    def fetched(self, keys: JwkSet, now: float) -> None:
        self.keys = keys
        self.last_error = None
        self._failures = 0
        self._last_attempt = now
        self._next_fetch = now + self.cache_seconds

    def failed(self, reason: str, now: float) -> None:
        """A fetch failed: keep the last good keys and back off 1, 2, 4 ... seconds, capped."""
        self.last_error = reason
        self._failures += 1
        self._last_attempt = now
        backoff = min(self.max_backoff_seconds, float(2 ** min(self._failures - 1, 30)))
        self._next_fetch = now + backoff

    def unknown_kid(self, now: float) -> bool:
        """A token named a kid the set lacks. Returns True when that makes a fetch due now: at
        most once per `min_refetch_seconds` after the last attempt, and never inside a back-off
        after a failure (that is the negative cache)."""
        if now >= self._next_fetch:
            return False  # already due; the loop will fetch anyway
        if self._failures:
            return False
        if self._last_attempt is not None and now < self._last_attempt + self.min_refetch_seconds:
            return False
        self._next_fetch = now
        return True
