"""Global rate limits: one token bucket per policy and key value, kept in Redis for all replicas.

Each `take` runs `BUCKET_SCRIPT` atomically in Redis: refill the bucket for the time elapsed,
take one token if there is one, store the state with an expiry (a full bucket is the same as no
bucket, so idle keys vanish), and answer allowed / remaining / reset / retry-after.

Time comes from the Redis server (`TIME` inside the script), not from the proxy. Replicas'
clocks are not one clock: the proxy's loop clock is monotonic per process and not comparable
across hosts, and wall clocks differ by their NTP error. A replica whose clock ran behind would
refill nothing and one ahead would refill too much; with the server's clock every replica sees
the same elapsed time. Calling `TIME` before writing is allowed because scripts replicate their
effects (the default since Redis 5, the only mode since 7).

When Redis cannot answer within `timeout` (down, unreachable, slow, refusing the script):
- `failureMode: Open` allows the request and counts it in `stats.open_allowed`;
- `failureMode: Closed` refuses it and counts it in `stats.closed_refused`. The refusal is a
  429 with `Retry-After: 1`, not a 503: the point of failing closed is that clients back off,
  and 429 + Retry-After is what tells them to; a 503 would read as the upstream failing and be
  retried by mesh retry policies, which is the opposite. The runtime can tell the two apart by
  `stats` and the log, and the client need not.
Either way the request waits at most `timeout`; the client redials in the background.

The limit is the whole `requests` per `perSeconds`: a shared counter already spans replicas, so
`divisor` (the local split) does not apply to a Global policy.

This module must never block a request longer than `timeout`, and never log key values (they
can be API key consumers or claims).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from meshproxy import config
from meshproxy.policy.ratelimit import RateDecision
from meshproxy.ratelimit.redis_client import RedisClient, RedisError

__all__ = ["BUCKET_SCRIPT", "GlobalLimiter", "LimiterStats"]

# KEYS[1] the bucket; ARGV: rate (tokens per second), capacity (burst), cost (tokens taken).
# Returns {allowed (0/1), remaining (whole tokens), reset_ms, retry_after_ms}.
BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate)
  ts = now
end
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
  'ts', string.format('%.6f', ts))
local reset_ms = math.ceil((capacity - tokens) / rate * 1000)
redis.call('PEXPIRE', KEYS[1], reset_ms + 1000)
local retry_ms = 0
if allowed == 0 then
  retry_ms = math.ceil((cost - tokens) / rate * 1000)
end
return {allowed, math.floor(tokens), reset_ms, retry_ms}
"""

_MAX_RAW_KEY = 128  # longer key values are hashed: header values can be kilobytes


@dataclass(slots=True)
class LimiterStats:
    decisions: int = 0  # answered by Redis
    errors: int = 0  # Redis did not answer in time or refused
    open_allowed: int = 0
    closed_refused: int = 0


class GlobalLimiter:
    """Takes tokens from `cfg`'s buckets in Redis through `client` (shared per Redis URL)."""

    __slots__ = (
        "_capacity",
        "_failure_mode",
        "_limit",
        "_prefix",
        "_rate",
        "_script",
        "client",
        "stats",
        "timeout",
    )

    def __init__(
        self,
        cfg: config.RateLimitPolicy,
        client: RedisClient,
        *,
        timeout: float = 0.1,
        prefix: str = "meshgate:rl:",
    ) -> None:
        self.client = client
        self.timeout = timeout
        self.stats = LimiterStats()
        self._capacity = cfg.burst if cfg.burst is not None else cfg.requests
        self._rate = cfg.requests / cfg.per_seconds
        self._limit = cfg.requests
        self._failure_mode = cfg.failure_mode
        self._prefix = f"{prefix}{cfg.name}:"
        self._script = client.register_script(BUCKET_SCRIPT)

    def bucket_key(self, key: str) -> str:
        if len(key) > _MAX_RAW_KEY:
            key = "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return self._prefix + key

    async def take(self, key: str) -> RateDecision:
        """Take one token for `key`; never waits longer than `timeout`."""
        try:
            reply = await self.client.run_script(
                self._script,
                [self.bucket_key(key)],
                [repr(self._rate), self._capacity, 1],
                within=self.timeout,
            )
            allowed, remaining, reset_ms, retry_ms = _ints(reply)
        except (RedisError, ValueError):
            return self._unavailable()
        self.stats.decisions += 1
        return RateDecision(
            allowed=allowed == 1,
            limit=self._limit,
            remaining=max(0, remaining),
            reset_seconds=math.ceil(reset_ms / 1000),
            retry_after_seconds=0 if allowed == 1 else max(1, math.ceil(retry_ms / 1000)),
        )

    def _unavailable(self) -> RateDecision:
        self.stats.errors += 1
        if self._failure_mode == "Open":
            self.stats.open_allowed += 1
            return RateDecision(True, self._limit, self._limit, 0, 0)
        self.stats.closed_refused += 1
        return RateDecision(False, self._limit, 0, 1, 1)


def _ints(reply: object) -> tuple[int, int, int, int]:
    if not isinstance(reply, list) or len(reply) != 4 or not all(isinstance(v, int) for v in reply):
        raise ValueError("unexpected script reply")
    return reply[0], reply[1], reply[2], reply[3]
