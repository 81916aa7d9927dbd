"""Local rate limits: a token bucket per key value, in a table of bounded size.

Each key (a client IP, a header value, a consumer, a claim) gets a bucket of `burst` tokens
(default `requests`), refilled continuously at `requests / per_seconds`. When a limit is split
across gateway replicas, `divisor` (the number of ready replicas) divides both, so scaling out
does not multiply the limit. A request takes one token or is refused.

The table holds at most `max_keys` buckets and forgets the least recently used one beyond that,
so a flood of distinct keys costs bounded memory; a forgotten key starts again with a full
bucket, which errs on the side of admitting traffic rather than of unbounded growth.

This module must never read the clock or do I/O: `now` (monotonic seconds) is passed in. The
Global (Redis) mode is the runtime's; this is the local bucket arithmetic only.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from meshproxy import config

__all__ = ["RateDecision", "TokenBuckets", "rate_limit_headers"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int  # requests per window, this proxy's share
    remaining: int  # whole tokens left after this request
    reset_seconds: int  # until the bucket is full again
    retry_after_seconds: int  # until one token is back; 0 when allowed


class TokenBuckets:
    __slots__ = ("_buckets", "_capacity", "_limit", "_max_keys", "_rate")

    def __init__(self, cfg: config.RateLimitPolicy, max_keys: int = 100_000) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        share = float(cfg.divisor)
        # A share below one token would refuse everything; one token is the least a bucket holds.
        self._capacity = max(1.0, (cfg.burst if cfg.burst is not None else cfg.requests) / share)
        self._rate = cfg.requests / cfg.per_seconds / share  # tokens per second
        self._limit = max(1, math.floor(cfg.requests / share))
        self._max_keys = max_keys
        # key -> [tokens, last refill time]; a list so a hit updates in place
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()

    def take(self, key: str, now: float) -> RateDecision:
        """Take one token from `key`'s bucket at time `now`."""
        buckets = self._buckets
        bucket = buckets.get(key)
        capacity, rate = self._capacity, self._rate
        if bucket is None:
            bucket = [capacity, now]
            buckets[key] = bucket
            if len(buckets) > self._max_keys:
                buckets.popitem(last=False)
        else:
            buckets.move_to_end(key)
            elapsed = now - bucket[1]
            if elapsed > 0:  # a clock that steps back refills nothing
                bucket[0] = min(capacity, bucket[0] + elapsed * rate)
                bucket[1] = now
        tokens = bucket[0]
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
            bucket[0] = tokens
        return RateDecision(
            allowed=allowed,
            limit=self._limit,
            remaining=int(tokens),
            reset_seconds=math.ceil((capacity - tokens) / rate),
            retry_after_seconds=0 if allowed else max(1, math.ceil((1.0 - tokens) / rate)),
        )

    def __len__(self) -> int:
        return len(self._buckets)


def rate_limit_headers(decision: RateDecision) -> list[tuple[str, str]]:
    """RateLimit-* fields (IETF httpapi draft) and, on refusal, Retry-After."""
    headers = [
        ("ratelimit-limit", str(decision.limit)),
        ("ratelimit-remaining", str(decision.remaining)),
        ("ratelimit-reset", str(decision.reset_seconds)),
    ]
    if not decision.allowed:
        headers.append(("retry-after", str(decision.retry_after_seconds)))
    return headers
