"""`apiKeys.stripKey` (default true): the key header never reaches the backend, whether the
policy sits on the Route or on the whole Gateway; `stripKey: false` forwards it."""

from __future__ import annotations

from typing import Any

from golden_cases import documents, snapshot

from meshgate.compile import compile_snapshot

CASE = "edge-api-keys-on-route-become-digests-in-the-generated-secret"


def _removed(docs: list[dict[str, Any]]) -> dict[str, list[str]]:
    (gw,) = compile_snapshot(snapshot(docs)).gateways
    out = {}
    for vhost in gw.config.listeners[0].virtual_hosts:
        for route in vhost.routes:
            headers = route.request_headers
            out[route.source] = list(headers.remove) if headers else []
    return out


def _policy(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == "EdgeAuthentication")


def test_route_policy_strips_the_key_header_on_its_route_only() -> None:
    assert _removed(documents(CASE)) == {"shop/partner-api": ["x-api-key"], "shop/public": []}


def test_gateway_policy_strips_the_key_header_on_every_route() -> None:
    docs = documents(CASE)
    _policy(docs)["spec"]["targetRefs"] = [{"kind": "Gateway", "name": "edge"}]
    assert _removed(docs) == {"shop/partner-api": ["x-api-key"], "shop/public": ["x-api-key"]}


def test_strip_key_false_forwards_the_key_header() -> None:
    docs = documents(CASE)
    _policy(docs)["spec"]["apiKeys"]["stripKey"] = False
    assert _removed(docs) == {"shop/partner-api": [], "shop/public": []}
