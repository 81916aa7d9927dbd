"""`splitAcrossReplicas` divides a Local limit by the gateway's ready proxies (at least 1) and
the config follows when that number changes; Global limits are never divided."""

from __future__ import annotations

import dataclasses

from golden_cases import documents, snapshot

from meshgate.compile import compile_snapshot
from meshgate.compile.snapshot import GatewayRuntime, Snapshot

CASE = "edge-rate-limits-local-and-global-on-gateway-and-route"


def _divisors(snap: Snapshot) -> dict[str, int]:
    (gw,) = compile_snapshot(snap).gateways
    return {p.name: p.divisor for p in gw.config.rate_limits}


def test_local_limit_divisor_follows_ready_replicas_and_global_stays_one() -> None:
    snap = snapshot(documents(CASE))
    assert _divisors(snap)["shop/per-ip/per-ip"] == 1  # no proxy ready yet: never 0
    for ready in (3, 2):
        runtime = {"shop/edge": GatewayRuntime(ready_replicas=ready)}
        divisors = _divisors(dataclasses.replace(snap, gateway_runtime=runtime))
        assert divisors["shop/per-ip/per-ip"] == ready
        assert divisors["shop/writes/per-tenant"] == 1


def test_a_limit_not_split_across_replicas_keeps_divisor_one() -> None:
    docs = documents(CASE)
    for doc in docs:
        if doc["kind"] == "RateLimitPolicy" and doc["metadata"]["name"] == "per-ip":
            doc["spec"]["splitAcrossReplicas"] = False
    runtime = {"shop/edge": GatewayRuntime(ready_replicas=3)}
    snap = dataclasses.replace(snapshot(docs), gateway_runtime=runtime)
    assert _divisors(snap)["shop/per-ip/per-ip"] == 1
