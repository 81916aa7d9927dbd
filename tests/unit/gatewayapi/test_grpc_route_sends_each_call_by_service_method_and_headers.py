"""A GRPCRoute on a Gateway of meshgate's class is compiled into the gateway's proxy config, and
the proxy's own route table sends each call (`POST /<service>/<method>` with its metadata as
headers) where the Gateway API says: by service and method, by headers, with its precedence."""

from __future__ import annotations

from typing import Any

from gwapi_kit import gateway, gateway_class, parent, parent_condition, run, status
from gwapi_kit import service as plain_service

from meshgate.compile import compile_snapshot
from meshgate.gatewayapi.grpcroute import method_path
from meshproxy.policy.routing import RouteTable

V1 = "gateway.networking.k8s.io/v1"
NS = "shop"
SVC = "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho"


def service(name: str = "web", namespace: str = NS) -> dict[str, Any]:
    """A backend Service whose port says it speaks HTTP/2 (h2c), as gRPC backends must."""
    body = plain_service(name, namespace)
    body["spec"]["ports"][0]["appProtocol"] = "kubernetes.io/h2c"
    return body


def grpc_route(
    name: str = "echo", *, rules: list[dict[str, Any]], hostnames: list[str] | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"parentRefs": [parent()], "rules": rules}
    if hostnames:
        spec["hostnames"] = hostnames
    return {
        "apiVersion": V1,
        "kind": "GRPCRoute",
        "metadata": {
            "name": name,
            "namespace": NS,
            "generation": 1,
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": spec,
    }


def to(backend: str, *matches: dict[str, Any], **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"backendRefs": [{"name": backend, "port": 8080}], **extra}
    if matches:
        out["matches"] = list(matches)
    return out


def method(svc: str | None, name: str | None, type_: str = "Exact") -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_}
    if svc:
        body["service"] = svc
    if name:
        body["method"] = name
    return {"method": body}


def headers(**values: str) -> dict[str, Any]:
    return {"headers": [{"type": "Exact", "name": k, "value": v} for k, v in values.items()]}


BACKENDS = [service("v1"), service("v2"), service("v3")]


def table(route: dict[str, Any]) -> RouteTable:
    adapted, snap = run([gateway_class(), gateway(), *BACKENDS, route])
    assert parent_condition(
        status(adapted, "GRPCRoute", route["metadata"]["name"]), "Accepted"
    ) == (
        "True",
        "Accepted",
    )
    (gw,) = compile_snapshot(snap).gateways
    (listener,) = gw.config.listeners
    return RouteTable.compile(listener.virtual_hosts)


def backend_of(t: RouteTable, path: str, host: str = "shop.example.com", **meta: str) -> str | None:
    found = t.match(host, "POST", path, "", {k.lower(): v for k, v in meta.items()})
    if found is None:
        return None
    assert found.config.forward is not None
    (cluster,) = found.config.forward.clusters
    return cluster.cluster.split("/")[1].split(":")[0]


def test_calls_go_by_exact_service_and_method() -> None:
    t = table(grpc_route(rules=[to("v1", method(SVC, "Echo")), to("v2", method(SVC, "EchoTwo"))]))
    assert backend_of(t, f"/{SVC}/Echo") == "v1"
    assert backend_of(t, f"/{SVC}/EchoTwo") == "v2"
    assert backend_of(t, f"/{SVC}/EchoThree") is None  # the proxy answers UNIMPLEMENTED


def test_service_alone_takes_all_its_methods_and_a_method_of_it_wins() -> None:
    t = table(grpc_route(rules=[to("v1", method(SVC, None)), to("v2", method(SVC, "EchoTwo"))]))
    assert backend_of(t, f"/{SVC}/Echo") == "v1"
    assert backend_of(t, f"/{SVC}/EchoTwo") == "v2"
    assert backend_of(t, f"/{SVC}x/Echo") is None  # whole service names only


def test_method_alone_matches_it_in_any_service() -> None:
    t = table(grpc_route(rules=[to("v1", method(None, "Echo"))]))
    assert backend_of(t, "/a.B/Echo") == "v1"
    assert backend_of(t, "/c.D/Echo") == "v1"
    assert backend_of(t, "/a.B/EchoTwo") is None


def test_regular_expressions_match_service_and_method_each_on_the_whole_segment() -> None:
    t = table(grpc_route(rules=[to("v1", method(r"a\..*", "Echo.*", "RegularExpression"))]))
    assert backend_of(t, "/a.B/EchoTwo") == "v1"
    assert backend_of(t, "/b.B/Echo") is None
    assert backend_of(t, "/a.B/Other") is None


def test_headers_decide_and_more_header_matches_win() -> None:
    # The conformance suite's GRPCRouteHeaderMatching rules.
    t = table(
        grpc_route(
            rules=[
                to("v1", headers(version="one")),
                to("v2", headers(version="two")),
                to("v1", headers(version="two", color="orange")),
                to("v1", headers(color="blue"), headers(color="green")),
                to("v2", headers(color="red"), headers(color="yellow")),
            ]
        )
    )
    path = f"/{SVC}/Echo"
    assert backend_of(t, path, Version="one") == "v1"
    assert backend_of(t, path, Version="two") == "v2"
    assert backend_of(t, path, Version="two", Color="orange") == "v1"
    assert backend_of(t, path, Version="two", Color="blue") == "v2"  # equal: the first rule
    assert backend_of(t, path, Color="green") == "v1"
    assert backend_of(t, path, Color="yellow") == "v2"
    assert backend_of(t, path, Color="orange") is None
    assert backend_of(t, path, Color="purple") is None


def test_rule_without_matches_takes_every_call_on_the_route_hostnames() -> None:
    t = table(grpc_route(rules=[to("v3")], hostnames=["grpc.example.com"]))
    assert backend_of(t, f"/{SVC}/Echo", host="grpc.example.com") == "v3"
    assert backend_of(t, f"/{SVC}/Echo", host="other.example.com") is None


def test_weights_split_calls_and_weight_zero_gets_none() -> None:
    route = grpc_route(rules=[to("v1")])
    route["spec"]["rules"][0]["backendRefs"] = [
        {"name": "v1", "port": 8080, "weight": 70},
        {"name": "v2", "port": 8080, "weight": 30},
        {"name": "v3", "port": 8080, "weight": 0},
    ]
    _adapted, snap = run([gateway_class(), gateway(), *BACKENDS, route])
    (gw,) = compile_snapshot(snap).gateways
    (vhost,) = gw.config.listeners[0].virtual_hosts
    (compiled,) = vhost.routes
    assert compiled.forward is not None
    weights = {c.cluster: c.weight for c in compiled.forward.clusters}
    assert weights.get("shop/v1:8080") == 70
    assert weights.get("shop/v2:8080") == 30
    assert not weights.get("shop/v3:8080")


def test_method_match_paths() -> None:
    assert method_path({"type": "Exact", "service": "a.B", "method": "C"}) == {
        "type": "Exact",
        "value": "/a.B/C",
    }
    assert method_path({"type": "Exact", "service": "a.B"}) == {
        "type": "PathPrefix",
        "value": "/a.B",
    }
    assert method_path({"type": "Exact", "method": "C"}) == {
        "type": "RegularExpression",
        "value": "/[^/]+/C",
    }
