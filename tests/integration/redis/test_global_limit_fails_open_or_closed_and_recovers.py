"""When Redis is down, silent or forgets the script, a Global limit answers within its timeout
(Open allows, Closed refuses) and takes its decisions from Redis again once it is back."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator

import pytest
from conftest import PASSWORD, RedisServer

from meshproxy import config
from meshproxy.ratelimit.global_limiter import GlobalLimiter
from meshproxy.ratelimit.redis_client import RedisClient, RedisUnavailable

TIMEOUT = 0.1


def policy(failure_mode: str, **spec: object) -> config.RateLimitPolicy:
    return config.RateLimitPolicy.from_data(
        {"name": "edge", "mode": "Global", "requests": 1, "perSeconds": 3600}
        | {"failureMode": failure_mode}
        | spec
    )


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[RedisClient]:
    client = RedisClient.from_url(redis_server.url, timeout=TIMEOUT, max_backoff=0.2)
    assert await client.wait_connected(5)
    yield client
    await client.close()


async def timed(limiter: GlobalLimiter, key: str) -> tuple[bool, float]:
    started = time.monotonic()
    decision = await limiter.take(key)
    return decision.allowed, time.monotonic() - started


async def wait_for_decision_from_redis(limiter: GlobalLimiter, key: str) -> None:
    for _ in range(200):  # the client redials with back-off capped at 0.2 s: 10 s is plenty
        before = limiter.stats.decisions
        await limiter.take(key)
        if limiter.stats.decisions > before:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the limiter never got an answer from the restarted Redis")


async def test_open_allows_and_closed_refuses_while_redis_is_down(
    redis_server: RedisServer, client: RedisClient
) -> None:
    opened = GlobalLimiter(policy("Open"), client, timeout=TIMEOUT)
    closed = GlobalLimiter(policy("Closed", name="strict"), client, timeout=TIMEOUT)
    # Up: the one token per hour is spent, so both refuse on Redis' word.
    assert (await opened.take("k")).allowed
    assert not (await opened.take("k")).allowed
    assert (await closed.take("k")).allowed
    assert not (await closed.take("k")).allowed

    redis_server.stop()
    for _ in range(5):
        allowed, took = await timed(opened, "k")
        assert allowed  # fails open
        assert took < 1.0  # bounded by the timeout, never by a connect or a back-off
        allowed, took = await timed(closed, "other")
        assert not allowed  # fails closed, even for a key that has tokens
        assert took < 1.0
    assert opened.stats.open_allowed == 5
    assert closed.stats.closed_refused == 5
    refusal = await closed.take("other")
    assert refusal.retry_after_seconds == 1


async def test_limiter_recovers_when_redis_comes_back(
    redis_server: RedisServer, client: RedisClient
) -> None:
    limiter = GlobalLimiter(policy("Closed"), client, timeout=TIMEOUT)
    assert (await limiter.take("k")).allowed
    redis_server.stop()
    assert not (await limiter.take("fresh")).allowed  # refused for want of Redis
    redis_server.start()  # same port, empty: the script and the buckets are gone
    await wait_for_decision_from_redis(limiter, "fresh")
    assert client.connects >= 2
    # Redis holds the buckets again: one token, then refusal on its word.
    assert (await limiter.take("after")).allowed
    errors = limiter.stats.errors
    assert not (await limiter.take("after")).allowed
    assert limiter.stats.errors == errors


async def test_script_is_run_by_source_when_redis_has_forgotten_it(
    client: RedisClient,
) -> None:
    limiter = GlobalLimiter(policy("Closed", requests=2), client, timeout=TIMEOUT)
    assert (await limiter.take("k")).allowed
    assert await client.execute("SCRIPT", "FLUSH") == "OK"
    assert (await limiter.take("k")).allowed  # NOSCRIPT, then EVAL
    assert not (await limiter.take("k")).allowed
    assert limiter.stats.errors == 0


async def test_wrong_password_is_unavailable_and_never_echoed(
    redis_server: RedisServer,
) -> None:
    url = redis_server.url.replace(PASSWORD, "not-the-password")
    client = RedisClient.from_url(url, timeout=TIMEOUT)
    try:
        assert not await client.wait_connected(1)
        with pytest.raises(RedisUnavailable):
            await client.ping()
        assert client.last_error is not None
        assert "not-the-password" not in client.last_error
        assert "not-the-password" not in repr(client)
    finally:
        await client.close()


async def test_a_server_that_never_answers_costs_each_request_only_the_timeout() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # reads nothing, answers nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = RedisClient("127.0.0.1", port, timeout=TIMEOUT, connect_timeout=0.3, max_backoff=0.2)
    limiter = GlobalLimiter(policy("Open"), client, timeout=TIMEOUT)
    try:
        durations = []
        for _ in range(100):  # ~2 s at most; stops once the client has given up and redialled
            durations.append((await timed(limiter, "k"))[1])
            if len(accepted) >= 2:
                break
            await asyncio.sleep(0.01)
        assert max(durations) < 1.0
        assert limiter.stats.open_allowed == len(durations)
        assert len(accepted) >= 2, "a handshake that never completes is abandoned and redialled"
        assert client.connects == 0
    finally:
        await client.close()
        server.close()
        for writer in accepted:
            writer.close()
        await server.wait_closed()


async def test_a_connected_redis_that_freezes_is_dropped_and_redialled(
    redis_server: RedisServer, client: RedisClient
) -> None:
    limiter = GlobalLimiter(policy("Open", requests=1000), client, timeout=TIMEOUT)
    assert (await limiter.take("k")).allowed
    assert limiter.stats.decisions == 1
    assert redis_server.proc is not None
    redis_server.proc.send_signal(signal.SIGSTOP)  # connection stays up, replies stop
    try:
        durations = [(await timed(limiter, "k"))[1] for _ in range(15)]  # > 4 timeouts
        assert max(durations) < 1.0
        assert limiter.stats.open_allowed == 15
    finally:
        redis_server.proc.send_signal(signal.SIGCONT)
    await wait_for_decision_from_redis(limiter, "k")
    assert client.connects >= 2  # the frozen connection was not trusted again


async def test_nothing_listening_fails_fast_while_backing_off() -> None:
    with socketless_port() as port:
        client = RedisClient("127.0.0.1", port, timeout=TIMEOUT, max_backoff=0.2)
        limiter = GlobalLimiter(policy("Closed"), client, timeout=TIMEOUT)
        try:
            results = [await timed(limiter, "k") for _ in range(10)]
            assert not any(allowed for allowed, _ in results)
            assert max(took for _, took in results) < 1.0
            assert client.connects == 0
        finally:
            await client.close()


class socketless_port:
    """A loopback port nobody listens on, for as long as the block runs."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))  # bound, not listening: connects are refused
        return int(self._sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
