"""A Global rate limit is one bucket in a real redis-server, shared by every replica: two
limiters in two processes together get what one bucket allows, within 10%."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import msgspec
from conftest import RedisServer

from meshproxy import config
from meshproxy.ratelimit.global_limiter import GlobalLimiter
from meshproxy.ratelimit.redis_client import RedisClient

WORKER = Path(__file__).with_name("limiter_worker.py")


def policy(**spec: object) -> config.RateLimitPolicy:
    spec.setdefault("name", "edge")
    spec.setdefault("mode", "Global")
    return config.RateLimitPolicy.from_data(spec)


def test_two_processes_share_ten_per_second_within_ten_percent(
    redis_server: RedisServer,
) -> None:
    cfg = policy(requests=10, perSeconds=1, burst=10)
    start = time.time() + 2.0  # both workers connected and waiting by then
    duration = 3.0
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                redis_server.url,
                msgspec.json.encode(cfg).decode(),
                str(start),
                str(duration),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err.decode()
        results.append(json.loads(out))
    assert all(r["errors"] == 0 for r in results)
    assert all(r["allowed"] > 0 for r in results), "both replicas must draw from the bucket"
    # The bucket starts full (burst) and refills at 10/s over the window actually measured.
    window = max(r["last"] for r in results) - min(r["first"] for r in results)
    expected = 10 + 10 * window
    allowed = sum(r["allowed"] for r in results)
    print(f"shared limit: {allowed} allowed in {window:.3f} s, expected {expected:.1f}")
    assert abs(allowed - expected) <= 0.1 * expected, (allowed, expected, window)
    # Without sharing, each process would have had its own 10 + 10 * window.
    assert allowed < 1.5 * expected


async def test_two_clients_in_one_process_draw_from_one_bucket(
    redis_server: RedisServer,
) -> None:
    cfg = policy(requests=6, perSeconds=60)  # refills one token per 10 s: none in this test
    a = RedisClient.from_url(redis_server.url, timeout=1.0)
    b = RedisClient.from_url(redis_server.url, timeout=1.0)
    try:
        first, second = GlobalLimiter(cfg, a, timeout=1), GlobalLimiter(cfg, b, timeout=1)
        decisions = [await (first if n % 2 else second).take("k") for n in range(8)]
        assert [d.allowed for d in decisions] == [True] * 6 + [False] * 2
        assert [d.remaining for d in decisions[:6]] == [5, 4, 3, 2, 1, 0]
        assert decisions[-1].retry_after_seconds >= 1
        assert decisions[-1].limit == 6
        assert a.connects == 1
        assert b.connects == 1
    finally:
        await a.close()
        await b.close()


async def test_keys_and_policies_have_separate_buckets(redis_server: RedisServer) -> None:
    client = RedisClient.from_url(redis_server.url, timeout=1.0)
    try:
        edge = GlobalLimiter(policy(name="edge", requests=2, perSeconds=60), client, timeout=1)
        admin = GlobalLimiter(policy(name="admin", requests=2, perSeconds=60), client, timeout=1)
        assert [(await edge.take("1.2.3.4")).allowed for _ in range(3)] == [True, True, False]
        assert [(await edge.take("5.6.7.8")).allowed for _ in range(3)] == [True, True, False]
        assert [(await admin.take("1.2.3.4")).allowed for _ in range(3)] == [True, True, False]
        long_a, long_b = "a" * 500, "a" * 499 + "b"  # hashed keys stay distinct
        assert (await edge.take(long_a)).allowed
        assert (await edge.take(long_a)).allowed
        assert not (await edge.take(long_a)).allowed
        assert (await edge.take(long_b)).allowed
    finally:
        await client.close()


async def test_buckets_refill_at_the_configured_rate(redis_server: RedisServer) -> None:
    client = RedisClient.from_url(redis_server.url, timeout=1.0)
    try:
        limiter = GlobalLimiter(policy(requests=20, perSeconds=1, burst=1), client, timeout=1)
        assert (await limiter.take("k")).allowed
        refused = await limiter.take("k")
        assert not refused.allowed
        assert refused.retry_after_seconds == 1  # 1/20 s, rounded up to whole seconds
        # Bounded wait for one token (50 ms at 20/s); measured, not assumed.
        for _ in range(100):
            if (await limiter.take("k")).allowed:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("no token came back in 1 s at 20/s")
    finally:
        await client.close()
