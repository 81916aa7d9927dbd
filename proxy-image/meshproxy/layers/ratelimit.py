"""Rate limiting: a token bucket per key value for each named policy; over the limit, 429.

The answer carries `Retry-After` and the `RateLimit-*` headers. `Global` policies (a shared
Redis counter) are enforced locally per replica for now, with the configured `divisor` share.
"""

from __future__ import annotations

import asyncio

from meshproxy import config
from meshproxy.http import canned
from meshproxy.http.message import Request, Response
from meshproxy.layers import Handler
from meshproxy.observability.metrics import Child
from meshproxy.policy.ratelimit import TokenBuckets, rate_limit_headers


class RateLimitLayer:
    __slots__ = ("_limits", "_loop", "_next")

    def __init__(
        self,
        next_handler: Handler,
        policies: list[config.RateLimitPolicy],
        counters: list[Child],
    ) -> None:
        self._next = next_handler
        self._loop = asyncio.get_running_loop()
        self._limits = [
            (TokenBuckets(policy), policy.key, counter)
            for policy, counter in zip(policies, counters, strict=True)
        ]

    async def handle(self, request: Request) -> Response:
        now = self._loop.time()
        for buckets, key, counter in self._limits:
            decision = buckets.take(_key(request, key), now)
            if not decision.allowed:
                counter.inc()
                return Response(
                    429,
                    [("content-type", "text/plain"), *rate_limit_headers(decision)],
                    canned.body(429),
                    local=True,
                )
        return await self._next(request)


def _key(request: Request, key: config.RateLimitKey) -> str:
    if key.type == "ClientIP":
        return request.client_ip
    if key.type == "Header" and key.name:
        return request.header(key.name.lower()) or ""
    if key.type == "ApiKeyConsumer":
        return request.header("x-meshgate-consumer") or ""
    return request.identity or request.client_ip
