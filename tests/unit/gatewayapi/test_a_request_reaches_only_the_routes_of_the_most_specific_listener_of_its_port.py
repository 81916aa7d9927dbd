"""Listener isolation (the suite's GatewayHTTPListenerIsolation): on a port several listeners
share, a request belongs to the most specific listener whose hostname matches it, and the proxy's
own route table answers it only with that listener's routes, whatever hostnames the routes of
less specific listeners name; a listener without routes answers 404 for its hostname."""

from __future__ import annotations

from typing import Any

import pytest
from gwapi_kit import gateway, gateway_class, http_route, listener, parent, run, service

from meshgate.compile import compile_snapshot
from meshproxy.policy.routing import RouteTable

LISTENERS = {
    "empty-hostname": None,
    "wildcard-example-com": "*.example.com",
    "wildcard-foo-example-com": "*.foo.example.com",
    "abc-foo-example-com": "abc.foo.example.com",
}
ALL_HOSTNAMES = ["bar.com", "*.example.com", "*.foo.example.com", "abc.foo.example.com"]
# host -> the listener that owns it; each listener's route serves /<listener name>.
OWNER = {
    "bar.com": "empty-hostname",
    "bar.example.com": "wildcard-example-com",
    "bar.foo.example.com": "wildcard-foo-example-com",
    "abc.foo.example.com": "abc-foo-example-com",
}


def _listeners(extra: dict[str, str | None] | None = None) -> list[dict[str, Any]]:
    out = []
    for name, hostname in {**LISTENERS, **(extra or {})}.items():
        body = listener(name)
        if hostname is not None:
            body["hostname"] = hostname
        out.append(body)
    return out


def _route(name: str, hostnames: list[str] | None) -> dict[str, Any]:
    rule = {
        "matches": [{"path": {"type": "PathPrefix", "value": f"/{name}"}}],
        "backendRefs": [{"name": name, "port": 8080}],
    }
    return http_route(name, parents=[parent(sectionName=name)], rules=[rule], hostnames=hostnames)


def _table(docs: list[dict[str, Any]]) -> RouteTable:
    _, snap = run([gateway_class(), *docs])
    (gw,) = compile_snapshot(snap).gateways
    (proxy_listener,) = gw.config.listeners  # one port: one proxy listener
    return RouteTable.compile(proxy_listener.virtual_hosts)


def _backend(table: RouteTable, host: str, path: str) -> str | None:
    found = table.match(host, "GET", path, "", {})
    if found is None:
        return None
    assert found.config.forward is not None
    (cluster,) = found.config.forward.clusters
    return cluster.cluster.split("/")[1].split(":")[0]


@pytest.mark.parametrize(
    "route_hostnames",
    [
        pytest.param(None, id="hostnames-only-on-listeners"),
        pytest.param(ALL_HOSTNAMES, id="intersecting-hostnames"),
    ],
)
def test_each_host_reaches_only_its_own_listeners_route(route_hostnames: list[str] | None) -> None:
    docs = [
        gateway("edge", *_listeners()),
        *(service(name) for name in LISTENERS),
        *(_route(name, route_hostnames) for name in LISTENERS),
    ]
    table = _table(docs)
    for host, owner in OWNER.items():
        for name in LISTENERS:
            want = name if name == owner else None
            assert _backend(table, host, f"/{name}") == want, (host, name)
            assert _backend(table, f"{host}:80", f"/{name}") == want, (host, name)


def test_a_listener_without_routes_answers_404_for_its_hostname() -> None:
    docs = [
        gateway("edge", *_listeners({"api-example-com": "api.example.com"})),
        service("empty-hostname"),
        service("wildcard-example-com"),
        _route("empty-hostname", None),
        _route("wildcard-example-com", None),
    ]
    table = _table(docs)
    assert _backend(table, "api.example.com", "/wildcard-example-com") is None
    assert _backend(table, "api.example.com", "/empty-hostname") is None
    assert _backend(table, "bar.example.com", "/wildcard-example-com") == "wildcard-example-com"
    # *.foo.example.com has no route either: its hosts are not the wider listeners' to answer.
    assert _backend(table, "x.foo.example.com", "/wildcard-example-com") is None
    assert _backend(table, "bar.com", "/empty-hostname") == "empty-hostname"


def test_a_route_on_several_listeners_of_the_port_serves_on_each_of_its_own_hosts() -> None:
    route = http_route(
        "both",
        parents=[parent(sectionName="empty-hostname"), parent(sectionName="wildcard-example-com")],
        rules=[{"backendRefs": [{"name": "both", "port": 8080}]}],
    )
    table = _table([gateway("edge", *_listeners()), service("both"), route])
    assert _backend(table, "bar.com", "/") == "both"
    assert _backend(table, "bar.example.com", "/") == "both"
    assert _backend(table, "bar.foo.example.com", "/") is None  # its listener has no route
