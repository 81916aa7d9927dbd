"""Which Secrets edge policies read, and the little the compiler may keep of them. Pure.

The I/O layer reads exactly the Secrets `edge_secret_refs` names and reduces each with
`edge_secret_of` before the compiler sees it: API keys become sha256 digests at once, and only
the keys a policy reads as text (a JWKS document, a Redis URL) are kept. What a gateway needs of
them leaves the compiler as files of the gateway's generated Secret, named here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from meshgate.api.v1alpha1.edge_authentication import EdgeAuthenticationSpec
from meshgate.api.v1alpha1.rate_limit_policy import RateLimitPolicySpec

from ..snapshot import EdgeSecret, Meta, Resource


@dataclass(frozen=True)
class SecretUse:
    """How edge policies read one Secret: every value as an API key (hashed at once), and/or
    named keys as text (a JWKS document, a Redis URL)."""

    api_keys: bool = False
    text_keys: frozenset[str] = frozenset()


def edge_secret_refs(
    edge_authentications: Iterable[Resource[EdgeAuthenticationSpec]],
    rate_limit_policies: Iterable[Resource[RateLimitPolicySpec]],
) -> dict[tuple[str, str], SecretUse]:
    uses: dict[tuple[str, str], SecretUse] = {}

    def add(ns: str, name: str, *, api_keys: bool = False, text: str | None = None) -> None:
        old = uses.get((ns, name), SecretUse())
        uses[(ns, name)] = SecretUse(
            api_keys=old.api_keys or api_keys,
            text_keys=old.text_keys | ({text} if text else set()),
        )

    for ea in edge_authentications:
        if ea.spec is None:
            continue
        ns = ea.meta.namespace
        if ea.spec.api_keys is not None:
            for ref in ea.spec.api_keys.secret_refs:
                add(ns, ref.name, api_keys=True)
        for provider in ea.spec.jwt.providers if ea.spec.jwt else []:
            if provider.jwks.secret_ref is not None:
                add(ns, provider.jwks.secret_ref.name, text=provider.jwks.secret_ref.key)
    for rl in rate_limit_policies:
        backend = rl.spec.global_ if rl.spec is not None else None
        if backend is not None and backend.secret_ref is not None:
            add(rl.meta.namespace, backend.secret_ref.name, text=backend.secret_ref.key)
    return uses


def edge_secret_of(body: Mapping[str, Any], use: SecretUse) -> EdgeSecret:
    """Reduce a Secret body to what the compiler may see: digests of API keys, named text keys.
    The values themselves are dropped here."""
    meta = body.get("metadata") or {}
    values: dict[str, bytes] = {}
    for k, v in (body.get("data") or {}).items():
        try:
            values[str(k)] = base64.b64decode(str(v), validate=True)
        except (binascii.Error, ValueError):
            continue
    for k, v in (body.get("stringData") or {}).items():
        values[str(k)] = str(v).encode()
    digests = {}
    if use.api_keys:
        for consumer, raw in values.items():
            key = raw.strip()
            if key:
                digests[consumer] = hashlib.sha256(key).hexdigest()
    texts = {}
    for k in use.text_keys:
        if k in values:
            texts[k] = values[k].decode("utf-8", "replace").strip()
    return EdgeSecret(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        digests=digests,
        texts=texts,
    )


def edge_secrets_from_bodies(
    bodies: Iterable[Mapping[str, Any]], uses: Mapping[tuple[str, str], SecretUse]
) -> dict[tuple[str, str], EdgeSecret]:
    out = {}
    for body in bodies:
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        if key in uses:
            out[key] = edge_secret_of(body, uses[key])
    return out


# File names inside the gateway's generated Secret.


def api_keys_file(meta: Meta) -> str:
    return f"apikeys.{meta.namespace}.{meta.name}.json"


# The operator's own Redis URL (the chart's rateLimit.redisUrl) in a gateway's generated Secret.
DEFAULT_REDIS_FILE = "redis.operator.url"


def redis_url_file(meta: Meta) -> str:
    return f"redis.{meta.namespace}.{meta.name}.url"
