"""The stack puts authn and rate-limit layers only into the chains that name them, and puts
client-IP limits before authn (bad credentials are refused cheaply) and consumer limits after
it (only authentication knows the consumer)."""

from __future__ import annotations

import hashlib
from typing import Any

from edge_fakes import request

from meshproxy import config
from meshproxy.layers.authn import AuthnLayer
from meshproxy.layers.ratelimit import RateLimitLayer
from meshproxy.observability.metrics import Registry
from meshproxy.stack import Built, build

KEY_DIGEST = hashlib.sha256(b"alice-secret").hexdigest()


def proxy_config(
    listener: dict[str, Any], route: dict[str, Any] | None = None
) -> config.ProxyConfig:
    routes = [
        {"name": "open", "match": {"path": {"type": "PathPrefix", "value": "/open"}},
         "directResponse": {"status": 200}},
        {"name": "guarded", "directResponse": {"status": 200}, **(route or {})},
    ]  # fmt: skip
    return config.ProxyConfig.from_data(
        {
            "node": {"role": "gateway"},
            "listeners": [
                {"name": "web", "port": 18080, "role": "edge",
                 "virtualHosts": [{"name": "vh", "domains": ["*"], "routes": routes}],
                 **listener}
            ],
            "authn": [
                {"name": "keys", "apiKey": {"keys": [{"consumer": "alice", "sha256": KEY_DIGEST}]}}
            ],
            "rateLimits": [
                {"name": "per-ip", "requests": 2, "burst": 2},
                {"name": "per-consumer", "requests": 1, "key": {"type": "ApiKeyConsumer"}},
            ],
        }
    )  # fmt: skip


def layers_in(built: Built) -> list[type]:
    """Every layer object reachable from the listener's handler, outermost first."""
    found: list[type] = []
    seen: set[int] = set()
    todo: list[Any] = [built.stacks["web"].handle]
    while todo:
        item = todo.pop(0)
        owner = getattr(item, "__self__", item)
        if id(owner) in seen or not type(owner).__module__.startswith("meshproxy."):
            continue
        seen.add(id(owner))
        found.append(type(owner))
        # A mypyc-compiled class keeps no `__slots__`; its attributes are descriptors on the type.
        names = getattr(owner, "__slots__", None) or [n for n in dir(owner) if n[:2] != "__"]
        for slot in names:
            value = getattr(owner, slot, None)
            if callable(value) and hasattr(value, "__self__"):
                todo.append(value)
            elif isinstance(value, dict):
                todo.extend(getattr(v, "handler", v) for v in value.values())
    return found


async def test_a_listener_without_edge_policies_has_no_edge_layers() -> None:
    built = build(proxy_config({}), Registry())
    try:
        chain = layers_in(built)
        assert AuthnLayer not in chain
        assert RateLimitLayer not in chain
    finally:
        built.close_unused(None)


async def test_route_policies_stay_on_their_route() -> None:
    cfg = proxy_config({}, {"authn": ["keys"], "rateLimits": ["per-ip"]})
    built = build(cfg, Registry())
    try:
        assert AuthnLayer in layers_in(built)
        handle = built.stacks["web"].handle
        assert (await handle(request())).status == 401
        open_request = request()
        open_request.request.path = "/open"
        assert (await handle(open_request)).status == 200
    finally:
        built.close_unused(None)


async def test_client_ip_limit_refuses_before_authn_counts_a_failure() -> None:
    registry = Registry()
    built = build(proxy_config({"authn": ["keys"], "rateLimits": ["per-ip"]}), registry)
    try:
        handle = built.stacks["web"].handle
        codes = [(await handle(request([("x-api-key", "guess")]))).status for _ in range(4)]
        assert codes == [401, 401, 429, 429]
        failures = registry.counters["meshproxy_authn_failures_total"]
        assert sum(c.value for c in failures.children.values()) == 2
    finally:
        built.close_unused(None)


async def test_consumer_limit_sees_the_consumer_authn_established() -> None:
    built = build(proxy_config({"authn": ["keys"], "rateLimits": ["per-consumer"]}), Registry())
    try:
        handle = built.stacks["web"].handle
        alice = [("x-api-key", "alice-secret")]
        codes = [(await handle(request(alice, client_ip=f"192.0.2.{i}"))).status for i in (1, 2)]
        assert codes == [200, 429]  # one consumer, two addresses: one bucket
    finally:
        built.close_unused(None)
