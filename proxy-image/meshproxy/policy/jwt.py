"""JWT bearer tokens: is this token signed by a configured provider, and is it valid now?

`JwtVerifier.verify(token, now)` accepts a compact JWS (RFC 7515/7519) only when all of these
hold: it is at most `MAX_TOKEN_BYTES`; its three segments are strict base64url and its header
and payload JSON objects; `alg` is RS256, ES256 or EdDSA and matches the key's type (so `none`,
every HS* -- the "HMAC keyed with the public key" attack -- and RS/ES confusion are refused
before any key is touched); the key is the provider's by `kid`; the signature verifies; `iss`
is a configured provider's; `exp` is present and not past, `nbf` not in the future (both with
the provider's bounded `clockSkew`); `aud` intersects the provider's `audiences` when it lists
some. Keys a token carries itself (`jwk`, `jku`, `x5u`, `x5c`) are ignored: a token never
chooses its own verifier. Unknown `crit` extensions are refused, as RFC 7515 §4.1.11 requires.

A failure carries a `reason` (stable, for metrics and tests) and a `description` that is safe to
put in `WWW-Authenticate` (RFC 6750 `invalid_token`): fixed text that echoes nothing from the
token. A verified token is remembered in a small LRU until its `exp` so a client reusing it does
not pay a signature check (~50-100 us) per request; the entry is dropped when its key leaves the
key set.

`now` is wall-clock seconds (`time.time()`), passed in: this module must never read the clock,
do I/O, or log or return a token, a key or a signature. `cryptography` is imported here and only
here, on first use, so the rest of the proxy does not pay for it.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from meshproxy import config
from meshproxy.policy.jwks import JwkKey, JwkSet, b64url_decode

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    PublicKey = RSAPublicKey | EllipticCurvePublicKey | Ed25519PublicKey

__all__ = [
    "MAX_TOKEN_BYTES",
    "JwtResult",
    "JwtVerifier",
    "bearer_token",
    "claim_headers",
    "forwarded_header_names",
    "www_authenticate",
]

MAX_TOKEN_BYTES = 8 * 1024
ALLOWED_ALGS = frozenset({"RS256", "ES256", "EdDSA"})
_MAX_HEADER_VALUE = 4096

# The header a failure is answered with names one of these; descriptions are fixed strings.
INVALID_TOKEN = "invalid_token"  # noqa: S105 - an RFC 6750 error code, not a secret


@dataclass(frozen=True, slots=True)
class JwtResult:
    ok: bool
    reason: str = ""  # e.g. "expired", "bad_signature"; empty when ok
    description: str = ""  # safe to show a client
    issuer: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)
    provider: config.JwtProvider | None = None

    @property
    def error(self) -> str:
        return "" if self.ok else INVALID_TOKEN


def _fail(reason: str, description: str) -> JwtResult:
    return JwtResult(ok=False, reason=reason, description=description)


# Failures with nothing token-specific in them are built once.
_TOO_LARGE = _fail("too_large", "token is too large")
_MALFORMED = _fail("malformed", "token is malformed")
_ALG_NONE = _fail("alg_not_allowed", "unsigned tokens are not accepted")
_ALG_HMAC = _fail("alg_not_allowed", "HMAC-signed tokens are not accepted")
_ALG_OTHER = _fail("alg_not_allowed", "token algorithm is not accepted")
_CRIT = _fail("malformed", "token uses unsupported critical extensions")
_ISSUER = _fail("wrong_issuer", "token issuer is not accepted")
_NO_KEYS = _fail("no_keys", "signing keys are not available")
_UNKNOWN_KID = _fail("unknown_kid", "token signing key is not known")
_KEY_MISMATCH = _fail("alg_not_allowed", "token algorithm does not match its key")
_SIGNATURE = _fail("bad_signature", "token signature is invalid")
_NO_EXP = _fail("missing_claim", "token has no valid expiry")
_EXPIRED = _fail("expired", "token has expired")
_NOT_YET = _fail("not_yet_valid", "token is not valid yet")
_AUDIENCE = _fail("wrong_audience", "token audience is not accepted")


KeysForIssuer = Callable[[str], JwkSet | None]
UnknownKid = Callable[[str], None]


class JwtVerifier:
    """Verifies tokens for a list of providers.

    `keys_for_issuer(issuer)` returns the provider's current key set (inline, from a file, or
    the latest fetch), or None while none is available. `on_unknown_kid(issuer)`, when given, is
    told a token named a kid the set lacks, so the runtime can ask for a refetch (rate limited by
    `JwksCache.unknown_kid`).
    """

    __slots__ = (
        "_cache",
        "_cache_size",
        "_crypto_keys",
        "_keys_for_issuer",
        "_on_unknown_kid",
        "_providers",
        "headers",
    )

    def __init__(
        self,
        providers: Sequence[config.JwtProvider],
        keys_for_issuer: KeysForIssuer,
        on_unknown_kid: UnknownKid | None = None,
        cache_size: int = 1024,
    ) -> None:
        self._providers: dict[str, list[config.JwtProvider]] = {}
        for provider in providers:
            self._providers.setdefault(provider.issuer, []).append(provider)
        # The request headers tokens are read from, lower-case, in config order.
        self.headers: tuple[str, ...] = tuple(dict.fromkeys(p.header.lower() for p in providers))
        self._keys_for_issuer = keys_for_issuer
        self._on_unknown_kid = on_unknown_kid
        self._cache_size = cache_size
        # token -> (key it verified with, ok result, valid until)
        self._cache: OrderedDict[str, tuple[JwkKey, JwtResult, float]] = OrderedDict()
        self._crypto_keys: dict[JwkKey, PublicKey] = {}

    def verify(self, token: str, now: float, header: str | None = None) -> JwtResult:
        """Verify `token` at wall-clock time `now`. With `header`, only providers that read
        tokens from that (lower-case) header are considered."""
        if len(token) > MAX_TOKEN_BYTES:
            return _TOO_LARGE
        cached = self._cache.get(token)
        if cached is not None:
            key, result, until = cached
            provider = result.provider
            if (
                now < until
                and provider is not None
                and (header is None or provider.header.lower() == header)
                and self._still_current(provider.issuer, key)
            ):
                self._cache.move_to_end(token)
                nbf = _number(result.claims.get("nbf"))
                if nbf is None or now + provider.clock_skew >= nbf:  # the clock may step back
                    return result
            del self._cache[token]
        return self._verify(token, now, header)

    def _still_current(self, issuer: str, key: JwkKey) -> bool:
        keys = self._keys_for_issuer(issuer)
        return keys is not None and key in keys.keys

    def _verify(self, token: str, now: float, header_name: str | None) -> JwtResult:
        parts = token.split(".")
        if len(parts) != 3 or not all(parts[:2]):
            return _MALFORMED
        header_b64, payload_b64, signature_b64 = parts
        try:
            header = _json_object(b64url_decode(header_b64))
            claims = _json_object(b64url_decode(payload_b64))
            signature = b64url_decode(signature_b64)
        except ValueError:
            return _MALFORMED
        alg = header.get("alg")
        if not isinstance(alg, str):
            return _MALFORMED
        if alg not in ALLOWED_ALGS:
            if alg.lower() == "none":
                return _ALG_NONE
            if alg.upper().startswith("HS"):
                return _ALG_HMAC
            return _ALG_OTHER
        if "crit" in header:
            return _CRIT
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            return _MALFORMED
        issuer = claims.get("iss")
        providers = self._providers.get(issuer) if isinstance(issuer, str) else None
        if header_name is not None and providers:
            providers = [p for p in providers if p.header.lower() == header_name]
        if not providers or not isinstance(issuer, str):
            return _ISSUER
        keys = self._keys_for_issuer(issuer)
        if keys is None:
            return _NO_KEYS
        key = keys.find(kid)
        if key is None:
            if kid is not None and self._on_unknown_kid is not None:
                self._on_unknown_kid(issuer)
            return _UNKNOWN_KID
        if key.alg != alg:
            return _KEY_MISMATCH
        signed = f"{header_b64}.{payload_b64}".encode("ascii")
        if not self._signature_ok(key, signed, signature):
            return _SIGNATURE
        # Claims are judged only once the signature holds: an unsigned token learns nothing.
        failure: JwtResult | None = None
        for provider in providers:
            failure = _check_claims(claims, provider, now)
            if failure is None:
                result = JwtResult(ok=True, issuer=issuer, claims=claims, provider=provider)
                until = float(claims["exp"]) + provider.clock_skew
                self._remember(token, key, result, until)
                return result
        assert failure is not None
        return failure

    def _remember(self, token: str, key: JwkKey, result: JwtResult, until: float) -> None:
        if self._cache_size <= 0:
            return
        self._cache[token] = (key, result, until)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _signature_ok(self, key: JwkKey, signed: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        public = self._crypto_key(key)
        try:
            if isinstance(public, rsa.RSAPublicKey):
                public.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            elif isinstance(public, ec.EllipticCurvePublicKey):
                # JWS carries ES256 as raw r||s (RFC 7518 §3.4); cryptography wants DER.
                if len(signature) != 64:
                    return False
                r = int.from_bytes(signature[:32], "big")
                s = int.from_bytes(signature[32:], "big")
                der = encode_dss_signature(r, s)
                public.verify(der, signed, ec.ECDSA(hashes.SHA256()))
            elif isinstance(public, ed25519.Ed25519PublicKey):
                public.verify(signature, signed)
            else:  # pragma: no cover - every JwkKey kind is handled above
                return False
        except (InvalidSignature, ValueError):
            return False
        return True

    def _crypto_key(self, key: JwkKey) -> PublicKey:
        public = self._crypto_keys.get(key)
        if public is None:
            public = _build_key(key)
            if len(self._crypto_keys) >= 256:  # rotated-away keys must not pile up
                self._crypto_keys.clear()
            self._crypto_keys[key] = public
        return public


def _build_key(key: JwkKey) -> PublicKey:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if key.kty == "RSA":
        return rsa.RSAPublicNumbers(key.e, key.n).public_key()
    if key.kty == "EC":
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + key.x + key.y)
    return ed25519.Ed25519PublicKey.from_public_bytes(key.x)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two "alg" or "iss" members would let two parsers read two different tokens.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate member")
    return obj


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw, object_pairs_hook=_unique_members)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("not JSON") from None
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _number(value: object) -> float | None:
    # bool is an int in Python; `"exp": true` is not a time.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _check_claims(
    claims: Mapping[str, Any], provider: config.JwtProvider, now: float
) -> JwtResult | None:
    skew = provider.clock_skew
    exp = _number(claims.get("exp"))
    if exp is None:
        return _NO_EXP
    if now >= exp + skew:
        return _EXPIRED
    if "nbf" in claims:
        nbf = _number(claims["nbf"])
        if nbf is None:
            return _MALFORMED
        if now + skew < nbf:
            return _NOT_YET
    if provider.audiences:
        aud = claims.get("aud")
        presented = [aud] if isinstance(aud, str) else aud
        if not isinstance(presented, list) or not any(
            isinstance(a, str) and a in provider.audiences for a in presented
        ):
            return _AUDIENCE
    return None


def bearer_token(header_value: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value (scheme case-insensitive), else
    None. Only the token68 characters RFC 6750 allows are accepted."""
    if not header_value:
        return None
    scheme, _, token = header_value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_BYTES or not _is_token68(token):
        return None
    return token


_TOKEN68 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=")


def _is_token68(token: str) -> bool:
    return all(c in _TOKEN68 for c in token)


def www_authenticate(result: JwtResult | None, realm: str | None = None) -> str:
    """The `WWW-Authenticate` value for a 401: bare `Bearer` when no token was presented
    (RFC 6750 §3.1), else `invalid_token` with the failure's safe description."""
    params = [f'realm="{_quoted(realm)}"'] if realm else []
    if result is not None and not result.ok:
        params.append(f'error="{INVALID_TOKEN}"')
        params.append(f'error_description="{_quoted(result.description)}"')
    return "Bearer " + ", ".join(params) if params else "Bearer"


def _quoted(text: str) -> str:
    return "".join(c for c in text if " " <= c <= "~" and c not in '"\\')


def claim_headers(result: JwtResult, provider: config.JwtProvider) -> list[tuple[str, str]]:
    """(header, value) pairs for the provider's `claimToHeaders`, for a verified token.

    A claim is looked up by its exact name, then as a dotted path into nested objects. String
    values go as they are, minus control characters (CR, LF, NUL ... header injection) and with
    non-ASCII characters percent-encoded as UTF-8 (header bytes are Latin-1 on the wire); other
    values are compact JSON. Missing claims add no header. The runtime must strip client-sent
    copies of these headers (see `forwarded_header_names`).
    """
    if not result.ok:
        return []
    pairs: list[tuple[str, str]] = []
    for mapping in provider.claim_to_headers:
        value = _claim(result.claims, mapping.claim)
        if value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        text = _header_safe(text)
        if text:
            pairs.append((mapping.header.lower(), text))
    return pairs


def forwarded_header_names(providers: Sequence[config.JwtProvider]) -> frozenset[str]:
    """Every header `claim_headers` may set: a client must never get to supply them."""
    return frozenset(m.header.lower() for p in providers for m in p.claim_to_headers)


def _claim(claims: Mapping[str, Any], name: str) -> Any:
    if name in claims:
        return claims[name]
    node: Any = claims
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _header_safe(text: str) -> str:
    out: list[str] = []
    for c in text:
        if " " <= c <= "~" or c == "\t":
            out.append(c)
        elif c > "\x7f":
            out.extend(f"%{b:02X}" for b in c.encode("utf-8", "replace"))
        # other control characters (CR, LF, NUL, DEL ...) are dropped
    return "".join(out)[:_MAX_HEADER_VALUE]
