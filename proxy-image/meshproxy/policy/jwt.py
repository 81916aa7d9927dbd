"""JWT bearer tokens: is this token signed by a configured provider, and is it valid now?

`JwtVerifier.verify(token, now)` accepts a compact JWS (RFC 7515/7519) only when all of these
hold: it is at most `MAX_TOKEN_BYTES`; its three segments are strict base64url and its header
and payload JSON objects without duplicate members; `alg` is one of `jwks.ALLOWED_ALGS` (RS*, PS*,
ES256/384/512, EdDSA) and one the key may verify (so `none`, every HS* -- the "HMAC keyed with the
public key" attack -- and RS/ES confusion are refused before any key is touched); the key is the
provider's by `kid`; the signature verifies; `iss` is a configured provider's; `aud` intersects
the provider's `audiences` when it lists some; `exp` is a number and not past, `nbf` not in the
future (both with the provider's bounded `clockSkew`). Keys a token carries itself (`jwk`, `jku`,
`x5u`, `x5c`) are ignored: a token never chooses its own verifier. Unknown `crit` extensions are
refused, as RFC 7515 §4.1.11 requires.

The signature and the `iss`/`aud` checks are PyJWT's (`jwt.PyJWT.decode_complete`, on
`cryptography`), with the one algorithm the header names and the key allows. The strict parse
before it is ours because PyJWT's base64url decoding skips characters outside the alphabet and
its JSON keeps the last of duplicate members; the times are ours because `now` is passed in and
PyJWT reads the wall clock (and takes `"exp": true` for 1).

A failure carries a `reason` (stable, for metrics and tests) and a `description` that is safe to
put in `WWW-Authenticate` (RFC 6750 `invalid_token`): fixed text that echoes nothing from the
token. A verified token is remembered in a small LRU until its `exp` so a client reusing it does
not pay a signature check (~50-100 us) per request; the entry is dropped when its key leaves the
key set.

This module must never read the clock, do I/O, or log or return a token, a key or a signature.
PyJWT is imported on first use, so the rest of the proxy does not pay for it.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from meshproxy import config
from meshproxy.policy.jwks import ALLOWED_ALGS, JwkKey, JwkSet, b64url_decode

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
        return keys is not None and any(key is k for k in keys.keys)

    def _verify(self, token: str, now: float, header_name: str | None) -> JwtResult:
        parts = token.split(".")
        if len(parts) != 3 or not all(parts[:2]):
            return _MALFORMED
        try:
            header = _json_object(b64url_decode(parts[0]))
            claims = _json_object(b64url_decode(parts[1]))
            b64url_decode(parts[2])
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
        if alg not in key.algorithms:
            return _KEY_MISMATCH
        # Claims are judged only once the signature holds: an unsigned token learns nothing.
        failure: JwtResult | None = None
        for provider in providers:
            failure = self._decode(token, key, alg, provider)
            if failure is None:
                failure = _check_times(claims, provider, now)
            if failure is None:
                result = JwtResult(ok=True, issuer=issuer, claims=claims, provider=provider)
                until = float(claims["exp"]) + provider.clock_skew
                self._remember(token, key, result, until)
                return result
            if failure is _SIGNATURE:
                return failure
        assert failure is not None
        return failure

    def _decode(
        self, token: str, key: JwkKey, alg: str, provider: config.JwtProvider
    ) -> JwtResult | None:
        """The signature, `iss` and `aud` by PyJWT; None when they hold."""
        from jwt import PyJWT
        from jwt.exceptions import (
            InvalidAudienceError,
            InvalidIssuerError,
            InvalidSignatureError,
            MissingRequiredClaimError,
            PyJWTError,
        )

        audiences = provider.audiences or None
        try:
            PyJWT().decode_complete(
                token,
                key.public,
                algorithms=[alg],
                options={
                    "verify_exp": False,  # judged against `now` in _check_times
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": audiences is not None,
                },
                audience=audiences,
                issuer=provider.issuer,
            )
        except InvalidSignatureError:
            return _SIGNATURE
        except InvalidAudienceError:
            return _AUDIENCE
        except MissingRequiredClaimError as exc:
            return _AUDIENCE if exc.claim == "aud" else _MALFORMED
        except InvalidIssuerError:
            return _ISSUER
        except (PyJWTError, ValueError):
            return _MALFORMED
        return None

    def _remember(self, token: str, key: JwkKey, result: JwtResult, until: float) -> None:
        if self._cache_size <= 0:
            return
        self._cache[token] = (key, result, until)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


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


def _check_times(
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
