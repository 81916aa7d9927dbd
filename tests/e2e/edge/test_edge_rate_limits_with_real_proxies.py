"""Rate limits through real meshproxy processes: 10 requests/s per client IP held within 10%
under sustained over-limit load, locally and shared by two proxies through one redis-server;
with Redis down, failureMode Open lets requests through and Closed refuses them.

The expected count is computed from the measured time, not assumed: a token bucket that starts
full admits `burst + rate * elapsed` requests in `elapsed` seconds, so the measured rate is
`(allowed - burst) / elapsed`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edge_e2e import LoadResult, RedisServer, hammer
from meshproxy_e2e import Client, Proxy, cluster, config, forward, free_port, wait_until

pytestmark = pytest.mark.e2e

RATE = 10
BURST = 10
WINDOW = 3.0


def limited_config(port: int, backend: int, policy: dict[str, Any]) -> dict[str, Any]:
    cfg = config(port, [forward("all", "echo")], [cluster("echo", backend)])
    cfg["listeners"][0]["rateLimits"] = [policy["name"]]
    cfg["rateLimits"] = [policy]
    cfg["observability"]["accessLog"]["enabled"] = False  # thousands of 429s are not news
    return cfg


def per_ip(**extra: Any) -> dict[str, Any]:
    return {"name": "per-ip", "requests": RATE, "perSeconds": 1, "burst": BURST, **extra}


@pytest.fixture
def proxies(tmp_path: Path) -> Iterator[list[Proxy]]:
    started: list[Proxy] = []
    try:
        yield started
    finally:
        for proxy in started:
            proxy.stop()


def start(proxies: list[Proxy], tmp: Path, cfg: dict[str, Any]) -> tuple[Proxy, int]:
    home = tmp / f"proxy-{len(proxies)}"
    home.mkdir()
    proxy = Proxy(home, cfg)
    proxies.append(proxy)
    return proxy, cfg["listeners"][0]["port"]


def assert_rate(result: LoadResult, what: str) -> float:
    allowed, elapsed = result.allowed, result.elapsed
    rate = (allowed - BURST) / elapsed
    print(
        f"{what}: {allowed} allowed, {result.refused} refused in {elapsed:.2f} s"
        f" -> {rate:.2f}/s beyond the burst"
    )
    assert RATE * 0.9 <= rate <= RATE * 1.1, f"{what}: {rate:.2f}/s is not within 10% of {RATE}"
    return rate


def test_local_limit_holds_ten_per_second_under_sustained_load(
    tmp_path: Path, echo: Any, proxies: list[Proxy]
) -> None:
    proxy, port = start(proxies, tmp_path, limited_config(free_port(), echo.port, per_ip()))
    result = hammer([port], WINDOW)
    assert result.other == 0
    assert result.refused > result.allowed  # the load really was over the limit
    assert_rate(result, "local")
    assert proxy.metric("meshproxy_rate_limited_total", policy="per-ip") == result.refused


def test_refusal_says_when_to_retry_and_allowed_answers_carry_the_budget(
    tmp_path: Path, echo: Any, proxies: list[Proxy]
) -> None:
    _, port = start(proxies, tmp_path, limited_config(free_port(), echo.port, per_ip()))
    client = Client(port)
    try:
        answers = [client.request("GET", "/") for _ in range(BURST + 1)]
    finally:
        client.close()
    first_status, first_headers, _ = answers[0]
    assert first_status == 200
    assert first_headers["ratelimit-limit"] == str(RATE)
    assert int(first_headers["ratelimit-remaining"]) == BURST - 1
    last_status, last_headers, _ = answers[-1]
    assert last_status == 429
    assert int(last_headers["retry-after"]) >= 1
    assert last_headers["ratelimit-remaining"] == "0"
    assert "ratelimit-reset" in last_headers


def test_global_limit_is_shared_by_two_proxies_through_redis(
    tmp_path: Path, echo: Any, proxies: list[Proxy], redis_server: RedisServer
) -> None:
    policy = per_ip(mode="Global", redisUrl=redis_server.url, failureMode="Closed")
    _, port_a = start(proxies, tmp_path, limited_config(free_port(), echo.port, policy))
    _, port_b = start(proxies, tmp_path, limited_config(free_port(), echo.port, policy))
    result = hammer([port_a, port_b], WINDOW)
    assert result.other == 0
    assert result.refused > result.allowed
    # Two proxies, one bucket: the pair admits what one would, not twice that.
    assert_rate(result, "global, two proxies")


@pytest.mark.parametrize(("mode", "expected"), [("Open", 200), ("Closed", 429)])
def test_redis_down_follows_the_failure_mode(
    tmp_path: Path,
    echo: Any,
    proxies: list[Proxy],
    redis_server: RedisServer,
    mode: str,
    expected: int,
) -> None:
    policy = per_ip(mode="Global", redisUrl=redis_server.url, failureMode=mode, requests=1, burst=1)
    _, port = start(proxies, tmp_path, limited_config(free_port(), echo.port, policy))
    client = Client(port)
    try:
        # Redis up: the limit is enforced, whatever the failure mode.
        assert [client.request("GET", "/")[0] for _ in range(2)] == [200, 429]
        redis_server.stop()

        def answered(status: int) -> bool:
            return client.request("GET", "/")[0] == status

        wait_until(lambda: answered(expected), 5, f"failureMode {mode} to answer {expected}")
        assert [client.request("GET", "/")[0] for _ in range(20)] == [expected] * 20
    finally:
        client.close()
