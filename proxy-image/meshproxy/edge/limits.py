"""Rate-limit policies compiled into limiters: local token buckets or the shared Redis bucket.

A `Local` policy gets its own `TokenBuckets` per config (its `divisor` share of the limit). A
`Global` policy gets a `GlobalLimiter` over a Redis client from `EdgeResources`, so replicas'
and reloads' limiters with the same URL share one connection; the URL comes from `redisUrl` or,
to keep a password out of config, the first line of `redisUrlFile`.

This module must never put a Redis URL in a message: it may carry a password.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshproxy import config
from meshproxy.edge.rate_key import KeyOf, key_function
from meshproxy.edge.resources import EdgeResources
from meshproxy.observability.metrics import Child
from meshproxy.policy.ratelimit import TokenBuckets
from meshproxy.ratelimit.global_limiter import GlobalLimiter


@dataclass(frozen=True, slots=True)
class Limit:
    policy: str
    key: KeyOf
    local: TokenBuckets | None  # exactly one of local and shared is set
    shared: GlobalLimiter | None
    refused: Child  # meshproxy_rate_limited_total{policy}


def compile_limit(
    policy: config.RateLimitPolicy, resources: EdgeResources, refused: Child
) -> Limit:
    try:
        key = key_function(policy.key)
    except ValueError as exc:
        raise ValueError(f"rate limit {policy.name!r}: {exc}") from None
    if policy.mode == "Local":
        return Limit(policy.name, key, TokenBuckets(policy), None, refused)
    url = _redis_url(policy)
    try:
        client = resources.redis_client(url)
    except ValueError as exc:  # the client's messages never repeat the URL
        raise ValueError(f"rate limit {policy.name!r}: {exc}") from None
    return Limit(policy.name, key, None, GlobalLimiter(policy, client), refused)


def _redis_url(policy: config.RateLimitPolicy) -> str:
    if policy.redis_url:
        return policy.redis_url
    if policy.redis_url_file:
        try:
            with open(policy.redis_url_file, encoding="utf-8") as handle:
                url = handle.readline().strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or type(exc).__name__
            raise ValueError(
                f"rate limit {policy.name!r}: cannot read redisUrlFile "
                f"{policy.redis_url_file}: {why}"
            ) from None
        if url:
            return url
        raise ValueError(f"rate limit {policy.name!r}: redisUrlFile is empty")
    raise ValueError(f"rate limit {policy.name!r}: mode Global needs redisUrl or redisUrlFile")
