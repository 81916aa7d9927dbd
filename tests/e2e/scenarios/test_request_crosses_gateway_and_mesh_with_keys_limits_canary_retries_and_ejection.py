"""The dynamic duo: client ─▶ gateway (API key, 20 req/s) ─mTLS─▶ orders sidecar ─▶ orders app
─▶ its sidecar ─mTLS─▶ payments sidecar (STRICT, only sa/orders) ─▶ payments app, with payments
split 95/5 between v1 and a v2 canary that fails 30% of calls (retried), and a v1 Pod that fails
every call (ejected by outlier detection).

Manifests: `dynamic_duo/` (the namespace `shop` labelled for injection, the workloads, the
gateway with its key and limit, the payments traffic and security policies).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from scenario_kit import Answer, User, metric_sum, metrics, request

PORT = 8080
INBOUND_PORT = 15006
KEY = {"x-api-key": "e2e-key-mobile-7d41c9"}
TRUST = "spiffe://cluster.local/ns/shop/sa"
PEER = "x-meshgate-peer-identity"
SIDECAR = "meshgate-proxy"
# Paced under the gateway's 20 req/s limit, so the canary measurement sees no 429.
MEASURED = 200
PACE_PER_SECOND = 15.0
# From the last status condition to the data plane serving it: files synced, proxies reloaded.
CONVERGE_SECONDS = 15.0


def _refuses_plaintext(address: str, port: int) -> bool:
    try:
        answer = request(address, port, "/charges")
    except OSError:  # closed or reset: the mTLS listener does not speak plaintext
        return True
    return answer.status != 200


def _paced(send: int, gateway: str) -> list[Answer]:
    """`send` requests through the gateway at PACE_PER_SECOND, each at its own slot."""
    answers = []
    start = time.monotonic()
    for i in range(send):
        delay = start + i / PACE_PER_SECOND - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # pacing the client under the limit, not waiting for a condition
        answers.append(request(gateway, PORT, f"/orders/{i}", KEY))
    return answers


def test_request_crosses_gateway_and_mesh_with_keys_limits_canary_retries_and_ejection(
    shop: User,
) -> None:
    shop.apply("dynamic_duo")
    pods = {
        name: shop.ready_pods(selector, count, timeout=120)
        for name, selector, count in (
            ("orders", "app=orders", 1),
            ("payments-v1", "app=payments,health=good", 2),
            ("payments-dead", "app=payments,health=dead", 1),
            ("payments-v2", "app=payments,version=v2", 1),
            ("intruder", "app=intruder", 1),
        )
    }
    for group in pods.values():
        for pod in group:
            sidecars = [c["name"] for c in pod["spec"].get("initContainers") or []]
            assert SIDECAR in sidecars, f"{pod['metadata']['name']} was not injected"
    for route in ("orders-api", "payments-canary"):
        shop.condition("routes", route, "Accepted")
        shop.condition("routes", route, "ResolvedRefs")
    for kind, name in (
        ("destinationrules", "payments"),
        ("retrypolicies", "payments-retries"),
        ("peerauthentications", "payments-strict"),
        ("authorizationpolicies", "payments-only-orders"),
    ):
        shop.condition(kind, name, "Accepted")
    shop.condition("gateways.meshgate.io", "shop-edge", "Programmed", timeout=60)
    gateway = shop.gateway_pods("shop-edge")[0]["status"]["podIP"]

    # One order end to end: each hop saw the verified identity of the one before.
    first = shop.answer_within(
        lambda: request(gateway, PORT, "/orders/1", KEY), 200, CONVERGE_SECONDS, "a first order"
    )
    order = first.json()
    assert order["pod"] == pods["orders"][0]["metadata"]["name"]
    assert order["headers"][PEER] == f"{TRUST}/meshgate-gw-shop-edge"
    payment = order["downstream"]["answer"]
    assert order["downstream"]["status"] == 200, order["downstream"]
    assert payment["namespace"] == "shop"
    assert payment["headers"][PEER] == f"{TRUST}/orders"

    # The canary split and the success rate, paced under the edge limit.
    answers = _paced(MEASURED, gateway)
    ok = [a for a in answers if a.status == 200]
    assert len(ok) >= 0.98 * MEASURED, Counter(a.status for a in answers)
    versions = Counter(a.json()["downstream"]["answer"]["version"] for a in ok)
    assert set(versions) <= {"v1", "v2"}
    assert 0.01 <= versions["v2"] / len(ok) <= 0.12, versions
    dead_name = pods["payments-dead"][0]["metadata"]["name"]
    assert all(a.json()["downstream"]["answer"]["pod"] != dead_name for a in ok)

    # The orders sidecar retried the canary's failures and ejected the dead Pod.
    orders_metrics = metrics(pods["orders"][0]["status"]["podIP"])
    assert metric_sum(orders_metrics, "meshproxy_upstream_retries_total") >= 1
    assert metric_sum(orders_metrics, "meshproxy_outlier_ejections_total") >= 1
    # Ejected: the dead Pod's sidecar sees no new request while more orders go through.
    dead_ip = pods["payments-dead"][0]["status"]["podIP"]
    before = metric_sum(metrics(dead_ip), "meshproxy_requests_total")
    more = _paced(40, gateway)
    assert all(a.status == 200 for a in more), Counter(a.status for a in more)
    assert metric_sum(metrics(dead_ip), "meshproxy_requests_total") == before

    # payments refuses a meshed caller that is not orders, and plaintext on its mTLS port.
    intruder_ip = pods["intruder"][0]["status"]["podIP"]
    refused = request(intruder_ip, PORT, "/steal").json()["downstream"]
    assert refused["status"] == 403, refused
    payment_ips = [
        p["status"]["podIP"]
        for name in ("payments-v1", "payments-dead", "payments-v2")
        for p in pods[name]
    ]
    denied = sum(metric_sum(metrics(ip), "meshproxy_authz_denied_total") for ip in payment_ips)
    assert denied >= 1
    assert _refuses_plaintext(payment_ips[0], INBOUND_PORT)
    policies = shop.get("networkpolicies")["items"]
    assert policies, "STRICT made no NetworkPolicy"

    # The edge: a request without a key, or with a wrong one, is refused before any backend.
    for kind, name in (
        ("edgeauthentications", "orders-api-keys"),
        ("ratelimitpolicies", "orders-api-limit"),
    ):
        shop.condition(kind, name, "Accepted")
    missing = request(gateway, PORT, "/orders/1")
    assert missing.status == 401
    assert "www-authenticate" in missing.headers
    assert request(gateway, PORT, "/orders/1", {"x-api-key": "not-a-key"}).status == 401
    # orders learns the consumer from the gateway, never from the client.
    spoofed = request(gateway, PORT, "/orders/2", {**KEY, "x-consumer": "admin"})
    assert spoofed.json()["headers"]["x-consumer"] == "mobile-app"

    # Over 20 requests in a second from one client: the edge answers 429 with Retry-After. The
    # burst is sent from several threads so it outpaces the refill on a loaded machine; whatever
    # it took, the bucket may have let through at most its 20 plus 20 per second elapsed.
    started = time.monotonic()
    burst = _burst(gateway, 45)
    elapsed = time.monotonic() - started
    limited = [a for a in burst if a.status == 429]
    assert limited, (elapsed, Counter(a.status for a in burst))
    assert "retry-after" in limited[0].headers
    assert sum(a.status == 200 for a in burst) <= 20 + math.ceil(20 * elapsed) + 1, elapsed
    edge_metrics = metrics(gateway)
    assert metric_sum(edge_metrics, "meshproxy_rate_limited_total") >= len(limited)
    assert metric_sum(edge_metrics, "meshproxy_authn_failures_total") >= 2


def _burst(gateway: str, count: int) -> list[Answer]:
    """`count` keyed requests from one client address, eight at a time."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda i: request(gateway, PORT, f"/orders/b{i}", KEY), range(count)))
