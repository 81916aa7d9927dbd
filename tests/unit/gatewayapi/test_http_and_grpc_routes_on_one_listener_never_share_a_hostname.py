"""An HTTPRoute and a GRPCRoute whose hostnames intersect on one listener: only the older is
accepted there and served; the other says Accepted=False, reason HostnameConflict, naming the
route that keeps it. Routes of one kind, or of both kinds on disjoint hostnames, all serve."""

from __future__ import annotations

from typing import Any

from gwapi_kit import (
    backend,
    gateway,
    gateway_class,
    http_route,
    listener,
    listener_status,
    parent,
    parent_condition,
    rule,
    run,
    status,
)
from gwapi_kit import service as plain_service

from meshgate.compile import compile_snapshot

V1 = "gateway.networking.k8s.io/v1"
NS = "shop"


def service(name: str) -> dict[str, Any]:
    body = plain_service(name)
    body["spec"]["ports"][0]["appProtocol"] = "kubernetes.io/h2c"
    return body


def grpc_route(
    name: str, created: str, hostnames: list[str] | None = None, **parent_extra: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "parentRefs": [parent(**parent_extra)],
        "rules": [{"backendRefs": [{"name": "grpc", "port": 8080}]}],
    }
    if hostnames:
        spec["hostnames"] = hostnames
    return {
        "apiVersion": V1,
        "kind": "GRPCRoute",
        "metadata": {"name": name, "namespace": NS, "generation": 1, "creationTimestamp": created},
        "spec": spec,
    }


def aged(route: dict[str, Any], created: str) -> dict[str, Any]:
    route["metadata"]["creationTimestamp"] = created
    return route


API_PATH = {"path": {"type": "PathPrefix", "value": "/api"}}
OLD, NEW = "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"
BASE = [gateway_class(), plain_service("web"), service("grpc")]


def sources(snap: Any) -> list[str]:
    (gw,) = compile_snapshot(snap).gateways
    return sorted(
        r.source for ln in gw.config.listeners for v in ln.virtual_hosts for r in v.routes
    )


def test_older_http_route_keeps_the_listener_and_the_grpc_route_is_refused() -> None:
    docs = [*BASE, gateway(), aged(http_route("web"), OLD), grpc_route("echo", NEW)]
    adapted, snap = run(docs)
    assert parent_condition(status(adapted, "HTTPRoute", "web"), "Accepted") == (
        "True",
        "Accepted",
    )
    body = status(adapted, "GRPCRoute", "echo")
    assert parent_condition(body, "Accepted") == ("False", "HostnameConflict")
    assert 'HTTPRoute "shop/web"' in body["parents"][0]["conditions"][0]["message"]
    assert sources(snap) == ["shop/httproute:web"]
    assert listener_status(status(adapted, "Gateway", "edge"), "http")["attachedRoutes"] == 1


def test_older_grpc_route_keeps_the_listener_and_the_http_route_is_refused() -> None:
    docs = [*BASE, gateway(), aged(http_route("web"), NEW), grpc_route("echo", OLD)]
    adapted, snap = run(docs)
    assert parent_condition(status(adapted, "HTTPRoute", "web"), "Accepted") == (
        "False",
        "HostnameConflict",
    )
    assert sources(snap) == ["shop/grpcroute:echo"]


def test_wildcard_and_exact_hostnames_intersect() -> None:
    docs = [
        *BASE,
        gateway(),
        aged(http_route("web", hostnames=["*.example.com"]), OLD),
        grpc_route("echo", NEW, hostnames=["api.example.com"]),
    ]
    adapted, _ = run(docs)
    assert parent_condition(status(adapted, "GRPCRoute", "echo"), "Accepted") == (
        "False",
        "HostnameConflict",
    )


def test_disjoint_hostnames_both_serve() -> None:
    docs = [
        *BASE,
        gateway(),
        aged(http_route("web", hostnames=["www.example.com"]), OLD),
        grpc_route("echo", NEW, hostnames=["grpc.example.com"]),
    ]
    adapted, snap = run(docs)
    assert parent_condition(status(adapted, "GRPCRoute", "echo"), "Accepted") == (
        "True",
        "Accepted",
    )
    assert sources(snap) == ["shop/grpcroute:echo", "shop/httproute:web"]
    assert listener_status(status(adapted, "Gateway", "edge"), "http")["attachedRoutes"] == 2


def test_routes_on_different_listeners_both_serve() -> None:
    gw = gateway("edge", listener("http"), listener("grpc", port=8080))
    docs = [
        *BASE,
        gw,
        aged(http_route("web", parents=[parent(sectionName="http")]), OLD),
        grpc_route("echo", NEW, sectionName="grpc"),
    ]
    adapted, snap = run(docs)
    assert parent_condition(status(adapted, "GRPCRoute", "echo"), "Accepted") == (
        "True",
        "Accepted",
    )
    assert sources(snap) == ["shop/grpcroute:echo", "shop/httproute:web"]


def test_a_route_keeps_the_listeners_where_it_does_not_conflict() -> None:
    gw = gateway("edge", listener("http"), listener("grpc", port=8080))
    docs = [
        *BASE,
        gw,
        aged(http_route("web", parents=[parent(sectionName="http")]), OLD),
        grpc_route("echo", NEW),  # both listeners
    ]
    adapted, _ = run(docs)
    body = status(adapted, "GRPCRoute", "echo")
    assert parent_condition(body, "Accepted") == ("True", "Accepted")
    assert "refused on listener http" in body["parents"][0]["conditions"][0]["message"]
    listeners = status(adapted, "Gateway", "edge")
    assert listener_status(listeners, "http")["attachedRoutes"] == 1
    assert listener_status(listeners, "grpc")["attachedRoutes"] == 1


def test_a_refused_route_blocks_nothing() -> None:
    # web (HTTP, oldest) keeps the listener; echo (gRPC) is refused; api (HTTP, newest) serves.
    docs = [
        *BASE,
        gateway(),
        aged(http_route("web"), OLD),
        grpc_route("echo", "2026-01-15T00:00:00Z"),
        aged(http_route("api", rules=[rule(backend(), matches=[API_PATH])]), NEW),
    ]
    adapted, snap = run(docs)
    assert parent_condition(status(adapted, "HTTPRoute", "api"), "Accepted") == (
        "True",
        "Accepted",
    )
    assert sources(snap) == ["shop/httproute:api", "shop/httproute:web"]


def test_an_http_route_and_a_grpc_route_of_one_name_count_as_two() -> None:
    docs = [
        *BASE,
        gateway(),
        aged(http_route("same", hostnames=["www.example.com"]), OLD),
        grpc_route("same", NEW, hostnames=["grpc.example.com"]),
    ]
    adapted, _ = run(docs)
    assert listener_status(status(adapted, "Gateway", "edge"), "http")["attachedRoutes"] == 2
