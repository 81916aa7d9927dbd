"""JSON Web Key Sets: which public keys may sign tokens for a provider, and when to refetch them.

`parse_jwks` turns a JWKS document (RFC 7517) into verification keys by `kid`: RSA (`n`, `e`; RS256,
RS384, RS512, PS256, PS384, PS512), EC P-256, P-384 and P-521 (`x`, `y`; ES256, ES384, ES512, one
per curve) and OKP Ed25519 (`x`; EdDSA). A key that declares `alg` verifies that algorithm only.
The key objects are PyJWT's (`jwt.PyJWK`, on `cryptography`), which checks that an EC point lies
on its curve; what this module adds is policy: symmetric (`kty: oct`) keys, keys carrying private
parts, RSA moduli under 2048 bits and malformed keys fail the whole document with a message that
names the key and the problem (a provider's key set that has them is misconfigured, and guessing
which half of it to trust would be worse). Well-formed keys this proxy will not use (encryption
keys, other curves, other algorithms) are skipped and listed in `JwkSet.skipped`.

`JwksCache` decides when a remotely fetched set is refetched: every `cache_seconds`; after a
failure, not before a growing back-off (negative caching, so an unreachable provider is not
hammered); and when a token names an unknown `kid` (the provider may have rotated), at most once
per `min_refetch_seconds`, whatever the kid, so random kids cannot drive refetches. The last good
set keeps serving while refetches fail: a provider outage must not log every user out.

This module must never do I/O, read the clock (`now` is passed in, in seconds) or log key
material. PyJWT (and with it `cryptography`) is imported on first use, so a proxy without JWT
policies never pays for it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

__all__ = [
    "ALLOWED_ALGS",
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

RSA_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
# Each curve signs with one algorithm (RFC 7518 §3.4), and its coordinates have one size.
EC_CURVES: Mapping[str, tuple[str, int]] = {
    "P-256": ("ES256", 32),
    "P-384": ("ES384", 48),
    "P-521": ("ES512", 66),
}
OKP_CURVES: Mapping[str, tuple[str, int]] = {"Ed25519": ("EdDSA", 32)}
# Every algorithm a token may name: asymmetric only, so `none` and HS* never verify.
ALLOWED_ALGS = RSA_ALGS | {alg for alg, _ in EC_CURVES.values()} | {"EdDSA"}

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


@dataclass(frozen=True, slots=True, eq=False)
class JwkKey:
    """One public verification key and the algorithms it may verify.

    `public` is the `cryptography` key object PyJWT built. Keys compare by identity: a
    refetched set holds new keys, and tokens verified with the old ones are verified again.
    """

    kid: str | None
    kty: KeyType
    algorithms: frozenset[str]
    public: Any = field(repr=False)

    def __repr__(self) -> str:  # key numbers are public, but long and useless in a log line
        return f"JwkKey(kid={self.kid!r}, kty={self.kty!r}, algorithms={sorted(self.algorithms)})"


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
        raise JwksError("JWKS has no usable signature key (RSA, EC P-256/384/521 or Ed25519)")
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
    if kty == "RSA":
        algorithms = RSA_ALGS
        n = int.from_bytes(_bytes_member(entry, "n", where), "big")
        e = int.from_bytes(_bytes_member(entry, "e", where), "big")
        if n.bit_length() < MIN_RSA_BITS:
            raise JwksError(f"{where}: RSA modulus shorter than {MIN_RSA_BITS} bits")
        if e < 3 or e % 2 == 0:
            raise JwksError(f"{where}: RSA exponent must be odd and at least 3")
    elif kty in ("EC", "OKP"):
        curves = EC_CURVES if kty == "EC" else OKP_CURVES
        crv = entry.get("crv")
        if not isinstance(crv, str) or crv not in curves:
            skipped.append(f"{where}: curve {crv!r} is not supported")
            return None
        alg, size = curves[crv]
        algorithms = frozenset({alg})
        _bytes_member(entry, "x", where, size)
        if kty == "EC":
            _bytes_member(entry, "y", where, size)
    else:
        skipped.append(f"{where}: key type {kty!r} is not supported")
        return None
    declared = entry.get("alg")
    if declared is not None:
        if declared == "none" or (isinstance(declared, str) and declared.startswith("HS")):
            raise JwksError(f"{where}: alg {declared!r} is not accepted")
        if declared not in algorithms:
            skipped.append(f"{where}: alg {declared!r} is not supported for this key")
            return None
        algorithms = frozenset({str(declared)})
    public = _public_key(entry, min(algorithms), where)
    return JwkKey(kid, cast(KeyType, kty), algorithms, public)


def _public_key(entry: dict[str, object], alg: str, where: str) -> Any:
    from jwt import PyJWK
    from jwt.exceptions import PyJWTError

    try:
        return PyJWK(entry, algorithm=alg).key
    except (PyJWTError, ValueError, TypeError):  # PyJWT's messages quote the key: not ours
        if entry.get("kty") == "EC":
            raise JwksError(f"{where}: point is not on curve {entry.get('crv')}") from None
        raise JwksError(f"{where}: not a valid {entry.get('kty')} public key") from None


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
