"""An EdgeAuthentication or RateLimitPolicy as the proxy's `authn` and `rateLimits` entries. Pure.

Key material never reaches a proxy config: API keys arrive as sha256 digests only and leave as
files of the gateway's generated Secret (`files`); a Redis URL read from a Secret goes the same
way. A JWKS is public and is inlined, with any private member removed. Problems are recorded in
`notes` for the policy's status, and nothing here may put a digest, key or URL from a Secret into
a message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from meshgate.api.v1alpha1.edge_authentication import EdgeAuthenticationSpec, JWTProvider
from meshgate.api.v1alpha1.rate_limit_policy import RateLimitPolicySpec, RateLimitRule
from meshproxy import config as pc
from meshproxy.policy.jwks import JwksError, parse_jwks

from ..durations import seconds
from ..notes import Notes
from ..paths import EDGE_SECRET_DIR
from ..report import q
from ..snapshot import EdgeSecret, Meta, Resource
from .secrets import DEFAULT_REDIS_FILE, api_keys_file, redis_url_file

AUTHN = "EdgeAuthentication"
LIMIT = "RateLimitPolicy"
EMPTY_JWKS = '{"keys":[]}'
MAX_CLOCK_SKEW = 300.0
PER_SECONDS = {"Second": 1.0, "Minute": 60.0, "Hour": 3600.0}
KEY_TYPES: dict[str, pc.RateLimitKeyType] = {
    "ClientIP": "ClientIP",
    "Header": "Header",
    "APIKeyConsumer": "ApiKeyConsumer",
    "JWTClaim": "JwtClaim",
}
# JWK members that hold private or symmetric key material: never copied into a config.
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

Secrets = Mapping[tuple[str, str], EdgeSecret]


def authn_policy(
    ea: Resource[EdgeAuthenticationSpec], secrets: Secrets, notes: Notes, files: dict[str, str]
) -> pc.AuthnPolicy:
    assert ea.spec is not None
    spec = ea.spec
    api_key = None
    if spec.api_keys is not None:
        entries = []
        for ref in spec.api_keys.secret_refs:
            secret = secrets.get((ea.meta.namespace, ref.name))
            if secret is None:
                _unresolved(
                    notes,
                    ea.meta,
                    "SecretNotFound",
                    f"secret {q(ref.name)} not found in namespace {q(ea.meta.namespace)}; "
                    "its consumers are refused",
                )
                continue
            if not secret.digests:
                _unresolved(
                    notes,
                    ea.meta,
                    "InvalidSecret",
                    f"secret {q(ref.name)} holds no API keys (data: consumer name -> key)",
                )
            for consumer, digest in sorted(secret.digests.items()):
                entries.append({"consumer": consumer, "sha256": digest})
        name = api_keys_file(ea.meta)
        files[name] = json.dumps(
            sorted(entries, key=lambda e: (e["consumer"], e["sha256"])), separators=(",", ":")
        )
        api_key = pc.ApiKeyAuthn(
            header=spec.api_keys.header,
            query=spec.api_keys.query,
            keys_file=f"{EDGE_SECRET_DIR}/{name}",
            consumer_header=spec.api_keys.consumer_header,
        )
    jwt = None
    if spec.jwt is not None:
        jwt = pc.JwtAuthn(
            providers=[_provider(ea.meta, p, secrets, notes) for p in spec.jwt.providers]
        )
    return pc.AuthnPolicy(
        name=ea.meta.key, api_key=api_key, jwt=jwt, optional=spec.mode == "Optional"
    )


def _provider(meta: Meta, p: JWTProvider, secrets: Secrets, notes: Notes) -> pc.JwtProvider:
    skew = seconds(p.clock_skew)
    if skew > MAX_CLOCK_SKEW:
        notes.set(
            AUTHN, meta, "PartiallyInvalid", "True", "UnsupportedValue",
            f"provider {p.name}: clockSkew is capped at {MAX_CLOCK_SKEW:.0f}s",
        )  # fmt: skip
        skew = MAX_CLOCK_SKEW
    fields: dict[str, Any] = {
        "issuer": p.issuer,
        "audiences": list(p.audiences or []),
        "claim_to_headers": [
            pc.ClaimToHeader(claim=c.claim, header=c.header) for c in p.claim_to_headers or []
        ],
        "clock_skew": skew,
    }
    if p.jwks.uri is not None:
        fields["jwks_uri"] = p.jwks.uri
        fields["jwks_cache_seconds"] = seconds(p.jwks.refresh_interval)
    else:
        fields["jwks"] = _jwks(meta, p, secrets, notes)
    return pc.JwtProvider(**fields)


def _jwks(meta: Meta, p: JWTProvider, secrets: Secrets, notes: Notes) -> str:
    """The provider's public JWKS, or an empty set (no token validates) when unusable."""
    ref = p.jwks.secret_ref
    assert ref is not None
    secret = secrets.get((meta.namespace, ref.name))
    if secret is None:
        _unresolved(
            notes,
            meta,
            "SecretNotFound",
            f"secret {q(ref.name)} not found in namespace {q(meta.namespace)}; "
            f"provider {p.name} accepts no token",
        )
        return EMPTY_JWKS
    text = secret.texts.get(ref.key)
    if not text:
        _unresolved(
            notes,
            meta,
            "InvalidSecret",
            f"secret {q(ref.name)} has no key {q(ref.key)}; provider {p.name} accepts no token",
        )
        return EMPTY_JWKS
    try:
        document = json.loads(text)
        keys = [
            {k: v for k, v in key.items() if k not in PRIVATE_JWK_MEMBERS}
            for key in document["keys"]
            if isinstance(key, dict) and key.get("kty") != "oct"
        ]
        public = json.dumps({"keys": keys}, sort_keys=True, separators=(",", ":"))
        parse_jwks(public)
    except (ValueError, KeyError, TypeError, AttributeError, JwksError) as exc:
        why = str(exc) if isinstance(exc, JwksError) else 'not a JSON object with a "keys" list'
        _unresolved(
            notes,
            meta,
            "InvalidJWKS",
            f"secret {q(ref.name)} key {q(ref.key)}: {why}; provider {p.name} accepts no token",
        )
        return EMPTY_JWKS
    return public


def limit_policies(
    rl: Resource[RateLimitPolicySpec],
    ready_replicas: int,
    default_redis_url: str,
    secrets: Secrets,
    files: dict[str, str],
) -> list[pc.RateLimitPolicy]:
    """One proxy rate limit per rule; a Local limit split across replicas divides by the
    gateway's `ready_replicas` (at least 1)."""
    assert rl.spec is not None
    spec = rl.spec
    divisor = 1
    if spec.mode == "Local" and spec.split_across_replicas:
        divisor = max(1, ready_replicas)
    backend: dict[str, Any] = {}
    if spec.mode == "Global" and spec.global_ is None and default_redis_url:
        # The operator's URL may carry a password: a file of the generated Secret, as a
        # URL from a Secret is.
        files[DEFAULT_REDIS_FILE] = default_redis_url
        backend["redis_url_file"] = f"{EDGE_SECRET_DIR}/{DEFAULT_REDIS_FILE}"
    elif spec.mode == "Global" and spec.global_ is not None:
        if spec.global_.redis_url:
            backend["redis_url"] = spec.global_.redis_url
        elif spec.global_.secret_ref is not None:
            ref = spec.global_.secret_ref
            secret = secrets[(rl.meta.namespace, ref.name)]
            name = redis_url_file(rl.meta)
            files[name] = secret.texts[ref.key]
            backend["redis_url_file"] = f"{EDGE_SECRET_DIR}/{name}"
    return [_limit(rl.meta, spec, rule, divisor, backend) for rule in spec.rules]


def _limit(
    meta: Meta,
    spec: RateLimitPolicySpec,
    rule: RateLimitRule,
    divisor: int,
    backend: dict[str, Any],
) -> pc.RateLimitPolicy:
    return pc.RateLimitPolicy(
        name=f"{meta.key}/{rule.name}",
        key=pc.RateLimitKey(type=KEY_TYPES[rule.key], name=rule.header or rule.claim),
        requests=rule.requests,
        per_seconds=PER_SECONDS[rule.per],
        burst=rule.requests + rule.burst,
        mode=spec.mode,
        failure_mode=spec.failure_mode,
        divisor=divisor,
        **backend,
    )


def _unresolved(notes: Notes, meta: Meta, reason: str, message: str) -> None:
    notes.set(AUTHN, meta, "ResolvedRefs", "False", reason, message)
