"""One proxy replica's share of a shared-limit test, as its own process.

argv: redis URL, policy JSON, start time (wall clock), duration seconds. Waits for the start,
takes tokens for key "shared" every ~2 ms until the duration is over, then prints one JSON line:
{"allowed": n, "refused": n, "errors": n, "first": t, "last": t} (wall-clock times of the first
and last request sent).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import msgspec

from meshproxy import config
from meshproxy.ratelimit.global_limiter import GlobalLimiter
from meshproxy.ratelimit.redis_client import RedisClient


async def main(url: str, policy: str, start: float, duration: float) -> None:
    client = RedisClient.from_url(url, timeout=1.0)
    assert await client.wait_connected(10)
    limiter = GlobalLimiter(
        msgspec.json.decode(policy, type=config.RateLimitPolicy), client, timeout=1
    )
    await asyncio.sleep(max(0.0, start - time.time()))
    allowed = refused = 0
    first = time.time()
    last = first
    while time.time() < start + duration:
        last = time.time()
        decision = await limiter.take("shared")
        allowed += decision.allowed
        refused += not decision.allowed
        await asyncio.sleep(0.002)
    await client.close()
    print(
        json.dumps(
            {
                "allowed": allowed,
                "refused": refused,
                "errors": limiter.stats.errors,
                "first": first,
                "last": last,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])))
