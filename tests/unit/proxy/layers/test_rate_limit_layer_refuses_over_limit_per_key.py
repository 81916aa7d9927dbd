"""RateLimitLayer: each key value has its own bucket; over the limit a request gets 429 with
Retry-After and RateLimit-* and is counted; allowed responses carry RateLimit-* too. Client IPs
come from the peer, never X-Forwarded-For; consumers and claims only from authentication;
requests without a key value share one anonymous bucket. Global limits follow their failure
mode when Redis cannot answer."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from edge_fakes import Recorder, request

from meshproxy import config
from meshproxy.edge.limits import compile_limit
from meshproxy.edge.principal import Principal
from meshproxy.edge.resources import EdgeResources
from meshproxy.http.message import Exchange
from meshproxy.layers.ratelimit import RateLimitLayer
from meshproxy.observability.metrics import Child


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def policy(**fields: Any) -> config.RateLimitPolicy:
    return config.RateLimitPolicy.from_data({"name": "rl", "requests": 3, **fields})


def layer(cfg: config.RateLimitPolicy) -> tuple[RateLimitLayer, Recorder, Clock, Child]:
    refused = Child()
    clock = Clock()
    recorder = Recorder()
    limit = compile_limit(cfg, EdgeResources(), refused)
    return RateLimitLayer(recorder, [limit], clock), recorder, clock, refused


async def statuses(rl: RateLimitLayer, make: Any, n: int) -> list[int]:
    return [(await rl.handle(make())).status for _ in range(n)]


async def test_over_the_limit_is_429_with_retry_after_and_counted() -> None:
    rl, recorder, _, refused = layer(policy())
    assert await statuses(rl, request, 3) == [200, 200, 200]
    response = await rl.handle(request())
    assert response.status == 429
    headers = dict(response.headers)
    assert headers["retry-after"] == "1"
    assert headers["ratelimit-limit"] == "3"
    assert headers["ratelimit-remaining"] == "0"
    assert refused.value == 1
    assert len(recorder.seen) == 3


async def test_allowed_responses_carry_ratelimit_headers() -> None:
    rl, _, _, _ = layer(policy())
    headers = dict((await rl.handle(request())).headers)
    assert headers["ratelimit-limit"] == "3"
    assert headers["ratelimit-remaining"] == "2"
    assert "retry-after" not in headers


async def test_tokens_come_back_at_the_configured_rate() -> None:
    rl, _, clock, _ = layer(policy(requests=10, burst=1))
    assert await statuses(rl, request, 2) == [200, 429]
    clock.now += 0.1  # one token at 10 per second
    assert await statuses(rl, request, 2) == [200, 429]


async def test_divisor_splits_the_limit_between_replicas() -> None:
    rl, _, _, _ = layer(policy(requests=6, divisor=3))
    assert await statuses(rl, request, 3) == [200, 200, 429]


async def test_client_ip_is_the_peer_not_x_forwarded_for() -> None:
    rl, _, _, _ = layer(policy(requests=1))

    def spoofing(i: int) -> Exchange:
        return request([("x-forwarded-for", f"10.0.0.{i}")], client_ip="192.0.2.7")

    assert [(await rl.handle(spoofing(i))).status for i in range(3)] == [200, 429, 429]
    assert (await rl.handle(request(client_ip="192.0.2.8"))).status == 200


async def test_header_key_gives_each_value_a_bucket_and_absent_ones_share_one() -> None:
    rl, _, _, _ = layer(policy(requests=1, key={"type": "Header", "name": "X-Tenant"}))
    assert (await rl.handle(request([("x-tenant", "a")]))).status == 200
    assert (await rl.handle(request([("x-tenant", "b")]))).status == 200
    assert (await rl.handle(request([("x-tenant", "a")]))).status == 429
    assert (await rl.handle(request(client_ip="192.0.2.50"))).status == 200
    assert (await rl.handle(request(client_ip="192.0.2.51"))).status == 429  # anonymous


def with_principal(principal: Principal | None, headers: list[tuple[str, str]] = []) -> Exchange:  # noqa: B006
    req = request(headers)
    req.principal = principal
    return req


async def test_consumer_key_uses_the_authenticated_consumer_not_a_header() -> None:
    rl, _, _, _ = layer(policy(requests=1, key={"type": "ApiKeyConsumer"}))
    alice = Principal("apiKey", "keys", consumer="alice")
    assert (await rl.handle(with_principal(alice))).status == 200
    assert (await rl.handle(with_principal(alice))).status == 429
    # a forged consumer header on an anonymous request draws from the anonymous bucket
    forged = [("x-meshgate-consumer", "bob")]
    assert (await rl.handle(with_principal(None, forged))).status == 200
    assert (await rl.handle(with_principal(None, [("x-meshgate-consumer", "carol")]))).status == 429
    bob = Principal("apiKey", "keys", consumer="bob")
    assert (await rl.handle(with_principal(bob))).status == 200


async def test_claim_key_reads_nested_claims_of_the_verified_token() -> None:
    rl, _, _, _ = layer(policy(requests=1, key={"type": "JwtClaim", "name": "org.id"}))

    def of(org: str) -> Principal:
        return Principal("jwt", "tokens", claims={"sub": "u", "org": {"id": org}})

    assert (await rl.handle(with_principal(of("o1")))).status == 200
    assert (await rl.handle(with_principal(of("o1")))).status == 429
    assert (await rl.handle(with_principal(of("o2")))).status == 200


def test_header_and_claim_keys_without_a_name_refuse_the_config() -> None:
    for key_type in ("Header", "JwtClaim"):
        with pytest.raises(ValueError, match="needs"):
            compile_limit(policy(key={"type": key_type}), EdgeResources(), Child())


def test_global_mode_without_a_redis_url_refuses_the_config() -> None:
    with pytest.raises(ValueError, match="redisUrl"):
        compile_limit(policy(mode="Global"), EdgeResources(), Child())


def test_redis_url_file_errors_never_show_its_content(tmp_path: Any) -> None:
    url_file = tmp_path / "url"
    url_file.write_text("mysql://user:hunter2@db\n")
    with pytest.raises(ValueError, match="Redis URL") as caught:
        compile_limit(policy(mode="Global", redisUrlFile=str(url_file)), EdgeResources(), Child())
    assert "hunter2" not in str(caught.value)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(("mode", "expected"), [("Open", 200), ("Closed", 429)])
async def test_unreachable_redis_follows_the_failure_mode(mode: str, expected: int) -> None:
    resources = EdgeResources()
    cfg = policy(mode="Global", failureMode=mode, redisUrl=f"redis://127.0.0.1:{closed_port()}")
    refused = Child()
    rl = RateLimitLayer(Recorder(), [compile_limit(cfg, resources, refused)])
    try:
        response = await rl.handle(request())
        assert response.status == expected
        assert refused.value == (1 if expected == 429 else 0)
        if expected == 429:
            assert dict(response.headers)["retry-after"] == "1"
    finally:
        resources.close_unused(None)
