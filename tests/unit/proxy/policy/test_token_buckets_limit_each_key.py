"""TokenBuckets: each key gets its burst, refills at its rate, and the table stays bounded."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshproxy import config
from meshproxy.policy.ratelimit import RateDecision, TokenBuckets, rate_limit_headers


def buckets(max_keys: int = 100, **spec: object) -> TokenBuckets:
    spec.setdefault("name", "rl")
    return TokenBuckets(config.RateLimitPolicy.from_data(spec), max_keys=max_keys)


def test_burst_defaults_to_requests_then_refuses() -> None:
    limit = buckets(requests=3)
    results = [limit.take("ip", 0.0) for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert [r.remaining for r in results] == [2, 1, 0, 0]
    assert results[3].retry_after_seconds == 1


def test_tokens_refill_at_requests_per_period() -> None:
    limit = buckets(requests=10, perSeconds=1)
    for _ in range(10):
        assert limit.take("ip", 0.0).allowed
    assert not limit.take("ip", 0.0).allowed
    assert limit.take("ip", 0.1).allowed  # one token back after 1/10 s
    assert not limit.take("ip", 0.1).allowed


def test_slow_rate_tells_how_long_to_wait() -> None:
    limit = buckets(requests=1, perSeconds=60)
    assert limit.take("ip", 0.0).allowed
    refused = limit.take("ip", 15.0)
    assert not refused.allowed
    assert refused.retry_after_seconds == 45
    assert refused.reset_seconds == 45
    assert limit.take("ip", 60.0).allowed


def test_explicit_burst_is_the_bucket_size() -> None:
    limit = buckets(requests=1, burst=5)
    assert sum(limit.take("k", 0.0).allowed for _ in range(10)) == 5


def test_divisor_splits_rate_and_burst_across_replicas() -> None:
    limit = buckets(requests=10, divisor=2)
    assert sum(limit.take("k", 0.0).allowed for _ in range(10)) == 5
    assert limit.take("k", 0.0).limit == 5
    assert sum(limit.take("k", 1.0).allowed for _ in range(10)) == 5  # 5 per second


def test_keys_are_independent() -> None:
    limit = buckets(requests=1)
    assert limit.take("a", 0.0).allowed
    assert not limit.take("a", 0.0).allowed
    assert limit.take("b", 0.0).allowed


def test_table_forgets_least_recently_used_key() -> None:
    limit = buckets(max_keys=2, requests=1)
    limit.take("a", 0.0)
    limit.take("b", 0.0)
    limit.take("a", 0.0)  # a is now more recent than b
    limit.take("c", 0.0)  # evicts b
    assert len(limit) == 2
    assert not limit.take("a", 0.0).allowed  # a kept its empty bucket
    assert limit.take("b", 0.0).allowed  # b starts afresh


def test_clock_stepping_back_refills_nothing() -> None:
    limit = buckets(requests=1)
    assert limit.take("k", 100.0).allowed
    assert not limit.take("k", 50.0).allowed
    assert not limit.take("k", 100.5).allowed


@settings(max_examples=60, deadline=None)
@given(
    requests=st.integers(min_value=1, max_value=20),
    burst=st.integers(min_value=1, max_value=20),
    gaps=st.lists(st.floats(min_value=0, max_value=3), min_size=1, max_size=60),
)
def test_never_more_than_burst_plus_refill(requests: int, burst: int, gaps: list[float]) -> None:
    limit = buckets(requests=requests, burst=burst)
    now = 0.0
    allowed = 0
    for gap in gaps:
        now += gap
        decision = limit.take("k", now)
        allowed += decision.allowed
        assert 0 <= decision.remaining <= burst - 1 or not decision.allowed
        assert allowed <= burst + requests * now + 1e-9


def test_headers_of_an_admitted_request() -> None:
    decision = RateDecision(
        allowed=True, limit=10, remaining=7, reset_seconds=1, retry_after_seconds=0
    )
    assert rate_limit_headers(decision) == [
        ("ratelimit-limit", "10"),
        ("ratelimit-remaining", "7"),
        ("ratelimit-reset", "1"),
    ]


def test_headers_of_a_refused_request_say_when_to_retry() -> None:
    refused = buckets(requests=1, perSeconds=10)
    refused.take("k", 0.0)
    headers = dict(rate_limit_headers(refused.take("k", 0.0)))
    assert headers["retry-after"] == "10"
    assert headers["ratelimit-remaining"] == "0"


def test_max_keys_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_keys"):
        buckets(max_keys=0, requests=1)
