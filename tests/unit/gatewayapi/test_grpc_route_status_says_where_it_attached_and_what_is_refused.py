"""A GRPCRoute's status is written as an HTTPRoute's: one parent entry per Gateway of meshgate's
class, Accepted and ResolvedRefs with the Gateway API's reasons; HTTP listeners list GRPCRoute
among their supportedKinds and count it in attachedRoutes; what meshgate does not serve on a
GRPCRoute refuses it (UnsupportedValue), and a GRPCRoute with a Service parent is left alone."""

from __future__ import annotations

from typing import Any

from gwapi_kit import (
    gateway,
    gateway_class,
    listener,
    listener_status,
    namespace,
    parent,
    parent_condition,
    reference_grant,
    run,
    status,
)
from gwapi_kit import (
    service as plain_service,
)

from meshgate.compile import compile_snapshot

V1 = "gateway.networking.k8s.io/v1"
NS = "shop"
GRPC_KIND = {"group": "gateway.networking.k8s.io", "kind": "GRPCRoute"}


def service(name: str = "web", namespace: str = NS) -> dict[str, Any]:
    """A backend Service whose port says it speaks HTTP/2 (h2c), as gRPC backends must."""
    body = plain_service(name, namespace)
    body["spec"]["ports"][0]["appProtocol"] = "kubernetes.io/h2c"
    return body


def grpc_route(
    name: str = "echo",
    *,
    rules: list[dict[str, Any]] | None = None,
    parents: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": V1,
        "kind": "GRPCRoute",
        "metadata": {"name": name, "namespace": NS, "generation": 3},
        "spec": {
            "parentRefs": parents if parents is not None else [parent()],
            "rules": rules
            if rules is not None
            else [{"backendRefs": [{"name": "web", "port": 8080}]}],
        },
    }


def test_route_is_accepted_counted_on_the_listener_and_compiled_under_its_own_name() -> None:
    adapted, snap = run([gateway_class(), gateway(), service(), grpc_route()])
    body = status(adapted, "GRPCRoute", "echo")
    (entry,) = body["parents"]
    assert entry["controllerName"] == "meshgate.io/gateway-controller"
    assert parent_condition(body, "Accepted") == ("True", "Accepted")
    assert parent_condition(body, "ResolvedRefs") == ("True", "ResolvedRefs")
    assert {c["observedGeneration"] for c in entry["conditions"]} == {3}
    http = listener_status(status(adapted, "Gateway", "edge"), "http")
    assert GRPC_KIND in http["supportedKinds"]
    assert http["attachedRoutes"] == 1
    (gw,) = compile_snapshot(snap).gateways
    (vhost,) = gw.config.listeners[0].virtual_hosts
    assert [r.source for r in vhost.routes] == ["shop/grpcroute:echo"]


def test_listener_that_allows_only_http_routes_refuses_it() -> None:
    only_http = listener(
        allowedRoutes={
            "namespaces": {"from": "Same"},
            "kinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
        }
    )
    adapted, snap = run([gateway_class(), gateway("edge", only_http), service(), grpc_route()])
    body = status(adapted, "GRPCRoute", "echo")
    assert parent_condition(body, "Accepted") == ("False", "NotAllowedByListeners")
    assert "does not allow GRPCRoutes" in body["parents"][0]["conditions"][0]["message"]
    http = listener_status(status(adapted, "Gateway", "edge"), "http")
    assert GRPC_KIND not in http["supportedKinds"]
    assert http["attachedRoutes"] == 0
    assert compile_snapshot(snap).gateways[0].config.listeners[0].virtual_hosts == []


def test_listener_that_names_grpc_route_among_its_kinds_takes_it() -> None:
    only_grpc = listener(
        allowedRoutes={
            "namespaces": {"from": "Same"},
            "kinds": [{"group": "gateway.networking.k8s.io", "kind": "GRPCRoute"}],
        }
    )
    adapted, _ = run([gateway_class(), gateway("edge", only_grpc), service(), grpc_route()])
    assert parent_condition(status(adapted, "GRPCRoute", "echo"), "Accepted") == (
        "True",
        "Accepted",
    )
    http = listener_status(status(adapted, "Gateway", "edge"), "http")
    assert http["supportedKinds"] == [GRPC_KIND]


def test_mirror_and_extension_filters_refuse_the_route_as_unsupported() -> None:
    for f in (
        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "web", "port": 8080}}},
        {"type": "ExtensionRef", "extensionRef": {"group": "x.io", "kind": "F", "name": "f"}},
    ):
        rules = [{"filters": [f], "backendRefs": [{"name": "web", "port": 8080}]}]
        adapted, snap = run([gateway_class(), gateway(), service(), grpc_route(rules=rules)])
        body = status(adapted, "GRPCRoute", "echo")
        assert parent_condition(body, "Accepted") == ("False", "UnsupportedValue"), f
        assert f["type"] in body["parents"][0]["conditions"][0]["message"]
        assert compile_snapshot(snap).gateways[0].config.listeners[0].virtual_hosts == []


def test_header_modifier_filters_reach_the_proxy_route() -> None:
    rules = [
        {
            "filters": [
                {
                    "type": "RequestHeaderModifier",
                    "requestHeaderModifier": {"set": [{"name": "x-tenant", "value": "a"}]},
                },
                {
                    "type": "ResponseHeaderModifier",
                    "responseHeaderModifier": {"add": [{"name": "x-served-by", "value": "gw"}]},
                },
            ],
            "backendRefs": [{"name": "web", "port": 8080}],
        }
    ]
    adapted, snap = run([gateway_class(), gateway(), service(), grpc_route(rules=rules)])
    assert parent_condition(status(adapted, "GRPCRoute", "echo"), "Accepted") == (
        "True",
        "Accepted",
    )
    (gw,) = compile_snapshot(snap).gateways
    (route,) = gw.config.listeners[0].virtual_hosts[0].routes
    assert route.request_headers is not None
    assert route.response_headers is not None
    assert dict(route.request_headers.set) == {"x-tenant": "a"}
    assert dict(route.response_headers.add) == {"x-served-by": "gw"}


def test_backend_in_another_namespace_needs_a_grant_from_grpc_routes() -> None:
    rules = [{"backendRefs": [{"name": "web", "namespace": "backends", "port": 8080}]}]
    base = [
        gateway_class(),
        gateway(),
        namespace(NS),
        namespace("backends"),
        service(namespace="backends"),
        grpc_route(rules=rules),
    ]
    http_grant = reference_grant("backends", "HTTPRoute", NS, "Service")
    adapted, _ = run([*base, http_grant])
    assert parent_condition(status(adapted, "GRPCRoute", "echo"), "ResolvedRefs") == (
        "False",
        "RefNotPermitted",
    )
    grpc_grant = reference_grant("backends", "GRPCRoute", NS, "Service")
    adapted, _ = run([*base, grpc_grant])
    assert parent_condition(status(adapted, "GRPCRoute", "echo"), "ResolvedRefs") == (
        "True",
        "ResolvedRefs",
    )


def test_missing_backend_reports_backend_not_found() -> None:
    rules = [{"backendRefs": [{"name": "nowhere", "port": 8080}]}]
    adapted, _ = run([gateway_class(), gateway(), grpc_route(rules=rules)])
    assert parent_condition(status(adapted, "GRPCRoute", "echo"), "ResolvedRefs") == (
        "False",
        "BackendNotFound",
    )


def test_route_with_only_a_service_parent_gets_no_status_from_meshgate() -> None:
    mesh_parent = {"group": "", "kind": "Service", "name": "web"}
    adapted, _ = run([gateway_class(), gateway(), service(), grpc_route(parents=[mesh_parent])])
    assert not [s for s in adapted.statuses if s.kind == "GRPCRoute"]


def test_backend_port_that_does_not_say_http2_is_refused_as_unsupported_protocol() -> None:
    adapted, snap = run([gateway_class(), gateway(), plain_service(), grpc_route()])
    body = status(adapted, "GRPCRoute", "echo")
    assert parent_condition(body, "ResolvedRefs") == ("False", "UnsupportedProtocol")
    assert "appProtocol" in body["parents"][0]["conditions"][1]["message"]
    (gw,) = compile_snapshot(snap).gateways
    (route,) = gw.config.listeners[0].virtual_hosts[0].routes
    assert route.forward is None  # the rule answers itself rather than speak HTTP/1.1 to it


def test_backend_port_named_grpc_is_http2() -> None:
    named = plain_service()
    named["spec"]["ports"][0]["name"] = "grpc-echo"
    adapted, snap = run([gateway_class(), gateway(), named, grpc_route()])
    body = status(adapted, "GRPCRoute", "echo")
    assert parent_condition(body, "ResolvedRefs") == ("True", "ResolvedRefs")
    (gw,) = compile_snapshot(snap).gateways
    assert [c.protocol for c in gw.config.clusters] == ["HTTP2"]
