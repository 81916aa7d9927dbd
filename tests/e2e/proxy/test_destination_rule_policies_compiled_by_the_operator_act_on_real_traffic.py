"""DestinationRule traffic policies as a user writes them, compiled by the operator's compiler,
served by a real meshproxy in front of real HTTP backends: circuit breaking answers 503 at once
and counts the overflow; each load-balancing algorithm spreads requests its own way.

Every test compiles a Gateway, a Route to Service `orders` and the DestinationRule under test;
`compiled_e2e` gives `orders` one loopback backend per endpoint.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from compiled_e2e import compiled_gateway, service
from meshproxy_e2e import Backends, Behaviour, Client, Proxy, free_port, running

CLUSTER = "shop/orders:8080"
ROUTE = """
apiVersion: meshgate.io/v1alpha1
kind: Route
metadata: {name: orders}
spec:
  parentRefs: [{name: edge}]
  rules:
    - backendRefs: [{name: orders, port: 8080}]
"""


@contextmanager
def serving(
    tmp_path: Path, backends: Backends, traffic_policy: str, *behaviours: Behaviour
) -> Iterator[tuple[Proxy, int]]:
    ports = [backends.start(b) for b in behaviours]
    rule = f"""
apiVersion: meshgate.io/v1alpha1
kind: DestinationRule
metadata: {{name: orders}}
spec:
  host: orders
  trafficPolicy:
{traffic_policy}
"""
    port = free_port()
    cfg = compiled_gateway("---\n".join([ROUTE, rule, service("orders", *ports)]), port)
    with running(tmp_path, cfg) as proxy:
        yield proxy, port


def _parallel(port: int, count: int, send: Callable[[Client, int], str]) -> list[str]:
    """`count` clients at once, each on its own connection; what each `send` returned."""
    results: list[str] = [""] * count
    start = threading.Barrier(count)

    def one(i: int) -> None:
        client = Client(port)
        try:
            start.wait(10)
            results[i] = send(client, i)
        finally:
            client.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def _backend(client: Client, path: str = "/", headers: dict[str, str] | None = None) -> str:
    status, _, body = client.request("GET", path, headers=headers)
    assert status == 200, (status, body)
    return str(json.loads(body)["backend"])


def test_full_pool_answers_503_at_once_and_counts_the_overflow(
    tmp_path: Path, backends: Backends
) -> None:
    policy = """\
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1}
"""
    slow = Behaviour("slow", delay=1.0)
    with serving(tmp_path, backends, policy, slow) as (proxy, port):

        def send(client: Client, i: int) -> str:
            started = time.monotonic()
            status = client.request("GET", f"/{i}")[0]
            return f"{status} {time.monotonic() - started:.2f}"

        outcomes = [o.split() for o in _parallel(port, 4, send)]
        statuses = Counter(int(status) for status, _ in outcomes)
        # One request on the only connection, one queued for it, two refused.
        assert statuses == {200: 2, 503: 2}, outcomes
        refused = [float(took) for status, took in outcomes if status == "503"]
        assert max(refused) < 0.5, outcomes  # at once, not after waiting for the backend
        assert len(slow.seen) == 2
        assert proxy.metric("meshproxy_upstream_overflow_total", cluster=CLUSTER) == 2
        assert proxy.metric("meshproxy_requests_total", code="503") == 2


def test_max_connections_is_per_endpoint_as_the_api_says(
    tmp_path: Path, backends: Backends
) -> None:
    policy = """\
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1}
"""
    a, b = Behaviour("a", delay=1.0), Behaviour("b", delay=1.0)
    with serving(tmp_path, backends, policy, a, b) as (proxy, port):
        statuses = _parallel(port, 4, lambda client, i: str(client.request("GET", f"/{i}")[0]))
        # Two endpoints, one connection and one queued request each: all four are served.
        assert Counter(statuses) == {"200": 4}
        assert proxy.metric("meshproxy_upstream_overflow_total", cluster=CLUSTER) == 0
        assert len(a.seen) == len(b.seen) == 2


def test_least_request_sends_few_requests_to_the_endpoint_that_is_busy(
    tmp_path: Path, backends: Backends
) -> None:
    policy = "    loadBalancer: {simple: LEAST_REQUEST}\n"
    fast = [Behaviour(f"fast-{i}") for i in range(4)]
    slow = Behaviour("slow", delay=0.5)
    with serving(tmp_path, backends, policy, *fast, slow) as (_, port):

        def send(client: Client, i: int) -> str:
            picked, until = [], time.monotonic() + 4.0
            while time.monotonic() < until:
                picked.append(_backend(client))
            return ",".join(picked)

        picks = Counter(",".join(_parallel(port, 4, send)).split(","))
    # Round robin sends every fifth request to the slow endpoint. Least request draws two
    # endpoints and takes the one with fewer requests in flight: the slow one, busy, only wins
    # when drawn twice (1 in 25) or in a tie.
    assert picks["slow"] <= 0.1 * sum(picks.values()), picks
    assert all(picks[f"fast-{i}"] for i in range(4)), picks


def test_random_reaches_every_endpoint_without_a_fixed_rotation(
    tmp_path: Path, backends: Backends
) -> None:
    policy = "    loadBalancer: {simple: RANDOM}\n"
    with serving(tmp_path, backends, policy, *(Behaviour(n) for n in "abc")) as (_, port):
        client = Client(port)
        try:
            order = [_backend(client) for _ in range(60)]
        finally:
            client.close()
    counts = Counter(order)
    assert set(counts) == {"a", "b", "c"}, counts
    assert all(5 <= n <= 40 for n in counts.values()), counts
    # Round robin repeats one cycle of three; random does not keep to one.
    cycles = {tuple(order[i : i + 3]) for i in range(0, 60, 3)}
    assert len(cycles) > 1, order


def test_consistent_hash_on_a_header_keeps_each_user_on_one_endpoint(
    tmp_path: Path, backends: Backends
) -> None:
    policy = "    loadBalancer: {consistentHash: {httpHeaderName: x-user}}\n"
    with serving(tmp_path, backends, policy, *(Behaviour(n) for n in "abc")) as (_, port):
        client = Client(port)
        try:
            homes = {}
            for user in (f"user-{i}" for i in range(24)):
                seen = {_backend(client, headers={"x-user": user}) for _ in range(5)}
                assert len(seen) == 1, (user, seen)  # sticky
                homes[user] = seen.pop()
        finally:
            client.close()
    assert len(set(homes.values())) >= 2, homes  # and spread across endpoints


def test_consistent_hash_on_a_cookie_sets_it_and_keeps_the_client_on_one_endpoint(
    tmp_path: Path, backends: Backends
) -> None:
    policy = (
        "    loadBalancer:\n"
        "      consistentHash: {httpCookie: {name: affinity, path: /, ttl: 1h}}\n"
    )
    with serving(tmp_path, backends, policy, *(Behaviour(n) for n in "abc")) as (_, port):
        client = Client(port)
        try:
            homes = set()
            for _ in range(12):  # twelve new clients: each is given a cookie
                status, headers, body = client.request("GET", "/")
                assert status == 200
                cookie = headers["set-cookie"]
                assert cookie.startswith("affinity=")
                assert "Max-Age=3600" in cookie
                assert "Path=/" in cookie
                pair = cookie.split(";")[0]
                first = str(json.loads(body)["backend"])
                # Sending it back: the same endpoint every time, and no new cookie.
                for _ in range(4):
                    status, again, body = client.request("GET", "/", headers={"cookie": pair})
                    assert (status, json.loads(body)["backend"]) == (200, first)
                    assert "set-cookie" not in again
                homes.add(first)
        finally:
            client.close()
    assert len(homes) >= 2, homes  # and the cookies spread clients over the endpoints


@pytest.fixture
def backends() -> Iterator[Backends]:
    pool = Backends()
    try:
        yield pool
    finally:
        pool.close()
