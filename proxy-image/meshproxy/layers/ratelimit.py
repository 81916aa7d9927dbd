"""Rate limiting: take a token from each listed policy's bucket for the request's key; when one
is empty, 429 with `Retry-After` and `RateLimit-*`, counted in `meshproxy_rate_limited_total`.

Allowed responses carry `RateLimit-*` too, from the policy with the fewest tokens left. Local
buckets are in-process arithmetic; Global ones await Redis for at most the limiter's timeout
and then follow its failure mode. Limiters are compiled at config load (`meshproxy.edge.limits`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from meshproxy.edge.limits import Limit
from meshproxy.http import canned
from meshproxy.http.message import Exchange, Response
from meshproxy.layers import Handler
from meshproxy.policy.ratelimit import RateDecision, rate_limit_headers


class RateLimitLayer:
    __slots__ = ("_clock", "_limits", "_next")

    def __init__(
        self,
        next_handler: Handler,
        limits: list[Limit],
        clock: Callable[[], float] | None = None,  # monotonic seconds; the loop's by default
    ) -> None:
        self._next = next_handler
        self._clock = clock or asyncio.get_running_loop().time
        self._limits = limits

    async def handle(self, exchange: Exchange) -> Response:
        tightest: RateDecision | None = None
        for limit in self._limits:
            key = limit.key(exchange)
            if limit.local is not None:
                decision = limit.local.take(key, self._clock())
            else:
                assert limit.shared is not None
                decision = await limit.shared.take(key)
            if not decision.allowed:
                limit.refused.inc()
                return Response(
                    429,
                    [("content-type", "text/plain"), *rate_limit_headers(decision)],
                    canned.body(429),
                    local=True,
                )
            if tightest is None or decision.remaining < tightest.remaining:
                tightest = decision
        response = await self._next(exchange)
        if tightest is not None:
            # A new list: a cached or canned response may share its headers list.
            response.headers = [*response.headers, *rate_limit_headers(tightest)]
        return response
