"""RouteLayer: the matched route's own chain handles the request; no match is 404."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from layer_fakes import Script, ok, request

from meshproxy import config
from meshproxy.http.message import LocalReply
from meshproxy.layers.chain import Chain
from meshproxy.layers.route import RouteEntry, RouteLayer
from meshproxy.observability.metrics import RequestStats
from meshproxy.policy.routing import RouteTable

ROUTES: list[dict[str, Any]] = [
    {
        "name": "admin",
        "match": {"path": {"type": "Exact", "value": "/admin"}, "method": "GET"},
        "directResponse": {"status": 403},
    },
    {
        "name": "api",
        "match": {
            "path": {"type": "PathPrefix", "value": "/api"},
            "headers": [{"name": "x-version", "value": "2"}],
        },
        "forward": {"clusters": [{"cluster": "v2", "weight": 3}, {"cluster": "v1", "weight": 1}]},
    },
    {"name": "rest", "forward": {"clusters": [{"cluster": "v1"}]}},
]


class Routing:
    def __init__(self) -> None:
        vhost = config.VirtualHost.from_data(
            {"name": "shop", "domains": ["shop.test"], "routes": ROUTES}
        )
        self.chains: dict[str, Script] = {}
        entries: dict[int, RouteEntry] = {}
        for route in vhost.routes:
            chain = self.chains[route.name] = Script(ok(200, [("x-route", route.name)]))
            clusters = [c.cluster for c in route.forward.clusters] if route.forward else [""]
            stats = {c: RequestStats((("cluster", c),)) for c in clusters}
            entries[id(route)] = RouteEntry(Chain(chain, None), stats)
        self.layer = RouteLayer(RouteTable.compile([vhost]), entries)
        self.layer._random = random.Random(1).random


async def test_each_request_reaches_the_chain_of_the_route_it_matches() -> None:
    routing = Routing()
    cases = [
        (request(path="/admin", host="shop.test"), "admin"),
        (request("POST", "/admin", host="shop.test"), "rest"),
        (request(path="/api/x", host="shop.test", headers=[("x-version", "2")]), "api"),
        (request(path="/api/x", host="shop.test"), "rest"),
    ]
    for req, name in cases:
        response = await routing.layer.handle(req)
        assert (dict(response.headers)["x-route"], req.route) == (name, name)
    assert {n: c.calls for n, c in routing.chains.items()} == {"admin": 1, "api": 1, "rest": 2}


async def test_an_unknown_host_is_404_and_reaches_no_chain() -> None:
    routing = Routing()
    with pytest.raises(LocalReply) as raised:
        await routing.layer.handle(request(host="other.test"))
    assert raised.value.status == 404
    assert all(c.calls == 0 for c in routing.chains.values())


async def test_the_weighted_cluster_is_drawn_once_and_recorded_with_its_stats() -> None:
    routing = Routing()
    picked: Counter[str] = Counter()
    for _ in range(2000):
        req = request(path="/api", host="shop.test", headers=[("x-version", "2")])
        await routing.layer.handle(req)
        picked[req.cluster] += 1
        assert req.stats is not None
        assert req.stats.labels == (("cluster", req.cluster),)
    assert 0.72 <= picked["v2"] / 2000 <= 0.78
