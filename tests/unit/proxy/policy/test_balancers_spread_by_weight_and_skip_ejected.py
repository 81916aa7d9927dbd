"""Balancers: weighted spread, ejected endpoints skipped, consistent hashing stays put."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshproxy import config
from meshproxy.policy.balancer import (
    ConsistentHashBalancer,
    EndpointState,
    LeastRequestBalancer,
    RandomBalancer,
    RoundRobinBalancer,
    hash_key_for,
    make_balancer,
)


def endpoints(*weights: int) -> list[EndpointState]:
    return [EndpointState(f"10.0.0.{i}", 8080, w) for i, w in enumerate(weights, start=1)]


def seeded(seed: int = 7) -> Callable[[], float]:
    return random.Random(seed).random


def cluster(policy: str) -> config.Cluster:
    return config.Cluster.from_data({"name": "c", "loadBalancer": {"policy": policy}})


@pytest.mark.parametrize(
    ("policy", "kind"),
    [
        ("ROUND_ROBIN", RoundRobinBalancer),
        ("LEAST_REQUEST", LeastRequestBalancer),
        ("RANDOM", RandomBalancer),
        ("CONSISTENT_HASH", ConsistentHashBalancer),
    ],
)
def test_make_balancer_follows_the_cluster_policy(policy: str, kind: type) -> None:
    assert isinstance(make_balancer(cluster(policy), endpoints(1), seeded()), kind)


def test_endpoint_state_from_config() -> None:
    state = EndpointState.from_config(
        config.Endpoint(address="10.1.2.3", port=80, weight=3, labels={"version": "v2"})
    )
    assert (state.address, state.port, state.weight) == ("10.1.2.3", 80, 3)
    assert state.labels == {"version": "v2"}
    assert (state.active_requests, state.ejected_until, state.ejection_count) == (0, 0.0, 0)


# --- round robin -----------------------------------------------------------------------------


def test_round_robin_rotates_equal_weights() -> None:
    eps = endpoints(1, 1, 1)
    balancer = RoundRobinBalancer(eps)
    picked = [balancer.pick(None, 0.0) for _ in range(6)]
    assert picked == [eps[0], eps[1], eps[2], eps[0], eps[1], eps[2]]


def test_smooth_weighted_round_robin_interleaves() -> None:
    eps = endpoints(5, 1, 1)
    balancer = RoundRobinBalancer(eps)
    picked = [balancer.pick(None, 0.0) for _ in range(7)]
    names = "".join("abc"[eps.index(e)] for e in picked if e is not None)
    assert names == "aabacaa"  # nginx's documented sequence for weights 5, 1, 1


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10), min_size=1, max_size=6))
def test_round_robin_gives_each_endpoint_exactly_its_weight_per_cycle(weights: list[int]) -> None:
    eps = endpoints(*weights)
    balancer = RoundRobinBalancer(eps)
    counts = Counter(balancer.pick(None, 0.0) for _ in range(sum(weights) * 3))
    assert counts == {e: 3 * e.weight for e in eps}


@pytest.mark.parametrize("weights", [(1, 1, 1), (3, 1, 2)])
def test_round_robin_skips_ejected_until_they_return(weights: tuple[int, ...]) -> None:
    eps = endpoints(*weights)
    eps[0].ejected_until = 10.0
    balancer = RoundRobinBalancer(eps)
    assert eps[0] not in {balancer.pick(None, 5.0) for _ in range(20)}
    assert eps[0] in {balancer.pick(None, 10.0) for _ in range(20)}


@pytest.mark.parametrize("policy", ["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "CONSISTENT_HASH"])
def test_no_available_endpoint_gives_none(policy: str) -> None:
    eps = endpoints(1, 2)
    for e in eps:
        e.ejected_until = 100.0
    balancer = make_balancer(cluster(policy), eps, seeded())
    assert balancer.pick(b"key", 50.0) is None
    assert balancer.pick(None, 50.0) is None
    assert make_balancer(cluster(policy), [], seeded()).pick(b"key", 0.0) is None


# --- random and least request ----------------------------------------------------------------


def test_random_follows_weights() -> None:
    eps = endpoints(1, 3)
    balancer = RandomBalancer(eps, seeded())
    counts = Counter(balancer.pick(None, 0.0) for _ in range(8000))
    assert counts[eps[1]] / 8000 == pytest.approx(0.75, abs=0.03)


def test_random_never_returns_an_ejected_endpoint() -> None:
    eps = endpoints(1, 1, 1)
    eps[1].ejected_until = 1.0
    balancer = RandomBalancer(eps, seeded())
    counts = Counter(balancer.pick(None, 0.5) for _ in range(3000))
    assert eps[1] not in counts
    assert counts[eps[0]] / 3000 == pytest.approx(0.5, abs=0.05)


def test_least_request_prefers_the_less_loaded_of_two() -> None:
    eps = endpoints(1, 1)
    eps[0].active_requests = 5
    draws = iter([0.1, 0.9])  # first draw eps[0], second eps[1]
    assert LeastRequestBalancer(eps, lambda: next(draws)).pick(None, 0.0) is eps[1]


def test_least_request_weighs_load_by_weight() -> None:
    eps = endpoints(1, 4)
    eps[0].active_requests = 1
    eps[1].active_requests = 3  # 3/4 per unit of weight beats 1/1
    draws = iter([0.1, 0.9])
    assert LeastRequestBalancer(eps, lambda: next(draws)).pick(None, 0.0) is eps[1]


def test_least_request_drains_load_away_from_a_busy_endpoint() -> None:
    eps = endpoints(1, 1, 1)
    eps[2].active_requests = 50
    balancer = LeastRequestBalancer(eps, seeded())
    counts = Counter(balancer.pick(None, 0.0) for _ in range(3000))
    # p2c picks the busy one only when both draws land on it: 1/9 of the time.
    assert counts[eps[2]] / 3000 == pytest.approx(1 / 9, abs=0.03)


# --- consistent hash -------------------------------------------------------------------------


def test_same_key_same_endpoint() -> None:
    balancer = ConsistentHashBalancer(endpoints(1, 1, 1, 1))
    first = balancer.pick(b"user-42", 0.0)
    assert all(balancer.pick(b"user-42", 0.0) is first for _ in range(10))


def test_keys_spread_over_endpoints() -> None:
    eps = endpoints(1, 1, 1, 1)
    balancer = ConsistentHashBalancer(eps)
    counts = Counter(balancer.pick(f"k{i}".encode(), 0.0) for i in range(4000))
    assert set(counts) == set(eps)
    assert all(700 < c < 1300 for c in counts.values())


def test_removing_an_endpoint_moves_only_its_own_keys() -> None:
    eps = endpoints(1, 1, 1, 1, 1)
    before = ConsistentHashBalancer(eps)
    after = ConsistentHashBalancer(eps[:4])
    keys = [f"session-{i}".encode() for i in range(2000)]
    for key in keys:
        owner = before.pick(key, 0.0)
        if owner is not eps[4]:
            assert after.pick(key, 0.0) is owner


def test_ejected_owner_hands_its_keys_to_the_next_and_gets_them_back() -> None:
    eps = endpoints(1, 1, 1)
    balancer = ConsistentHashBalancer(eps)
    owner = balancer.pick(b"k", 0.0)
    assert owner is not None
    owner.ejected_until = 10.0
    stand_in = balancer.pick(b"k", 5.0)
    assert stand_in is not None
    assert stand_in is not owner
    assert balancer.pick(b"k", 10.0) is owner


def test_no_key_falls_back_to_round_robin() -> None:
    eps = endpoints(1, 1, 1)
    balancer = ConsistentHashBalancer(eps)
    assert [balancer.pick(None, 0.0) for _ in range(3)] == eps


@pytest.mark.parametrize(
    ("spec", "headers", "client_ip", "want"),
    [
        ({"header": "X-User"}, {"x-user": "alice"}, "1.2.3.4", b"alice"),
        ({"header": "x-user", "sourceIp": True}, {}, "1.2.3.4", b"1.2.3.4"),
        ({"cookie": "sid"}, {"cookie": "a=1; sid=xyz; b=2"}, "1.2.3.4", b"xyz"),
        ({"cookie": "sid"}, {"cookie": "sidx=1"}, "1.2.3.4", None),
        ({"sourceIp": True}, {"x-user": "alice"}, "::1", b"::1"),
        ({}, {"x-user": "alice"}, "1.2.3.4", None),
    ],
)
def test_hash_key_for(
    spec: dict[str, object], headers: dict[str, str], client_ip: str, want: bytes | None
) -> None:
    cfg = config.ConsistentHash.from_data(spec)
    assert hash_key_for(cfg, headers, client_ip) == want


def test_no_hash_config_gives_no_key() -> None:
    assert hash_key_for(None, {"x": "y"}, "1.2.3.4") is None
