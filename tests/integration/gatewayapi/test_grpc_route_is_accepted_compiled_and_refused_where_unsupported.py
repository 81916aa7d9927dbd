"""On the real API server: the operator watches GRPCRoutes; one on a Gateway of meshgate's class
gets meshgate's parent entry (Accepted, ResolvedRefs), counts in the listener's attachedRoutes
beside GRPCRoute in its supportedKinds, and its method match reaches the gateway's proxy config
as a path; a change to it (a RequestMirror meshgate does not serve on GRPCRoutes) is refused
with Accepted=False, UnsupportedValue, at the new generation. A GRPCRoute newer than an
HTTPRoute on its listener and hostname is refused (HostnameConflict) until that one goes."""

from __future__ import annotations

import json
from typing import Any

from controller_kit import eventually
from gwapi_harness import (
    V1,
    apply,
    delete,
    gateway,
    get,
    http_route,
    service,
    wait_route_condition,
)
from kubernetes.client import ApiClient
from operator_harness import OperatorProcess

GRPC_KIND = {"group": "gateway.networking.k8s.io", "kind": "GRPCRoute"}


def grpc_route(filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "matches": [{"method": {"service": "echo.v1.Echo", "method": "Echo"}}],
        "backendRefs": [{"name": "web", "port": 8080}],
    }
    if filters:
        rule["filters"] = filters
    return {
        "apiVersion": V1,
        "kind": "GRPCRoute",
        "metadata": {"name": "echo"},
        "spec": {"parentRefs": [{"name": "edge"}], "rules": [rule]},
    }


def _paths(api: ApiClient, ns: str) -> list[str]:
    config_map = get(api, "ConfigMap", ns, "meshgate-gw-edge", api_version="v1")
    if config_map is None:
        return []
    config = json.loads(config_map["data"]["config.json"])
    return [
        route["match"]["path"]["value"]
        for listener in config["listeners"]
        for vhost in listener["virtualHosts"]
        for route in vhost["routes"]
    ]


def test_grpc_route_served_then_refused(
    api_client: ApiClient, namespace: str, class_name: str, gateway_api_operator: OperatorProcess
) -> None:
    ns = namespace
    backend = service()
    backend["spec"]["ports"][0]["appProtocol"] = "kubernetes.io/h2c"  # gRPC backends are HTTP/2
    apply(api_client, backend, ns)
    apply(api_client, gateway(class_name), ns)
    apply(api_client, grpc_route(), ns)

    wait_route_condition(api_client, ns, "echo", "Accepted", ("True", "Accepted"), kind="GRPCRoute")
    wait_route_condition(
        api_client, ns, "echo", "ResolvedRefs", ("True", "ResolvedRefs"), kind="GRPCRoute"
    )
    listener = eventually(
        lambda: (
            (o := get(api_client, "Gateway", ns, "edge"))
            and (ln := ((o.get("status") or {}).get("listeners") or [None])[0])
            and ln["attachedRoutes"] == 1
            and ln
        ),
        timeout=30,
        what="the listener counts the GRPCRoute",
    )
    assert GRPC_KIND in listener["supportedKinds"]
    eventually(
        lambda: _paths(api_client, ns) == ["/echo.v1.Echo/Echo"],
        timeout=30,
        what="the method match in the gateway's proxy config",
    )

    mirror = {
        "type": "RequestMirror",
        "requestMirror": {"backendRef": {"name": "web", "port": 8080}},
    }
    apply(api_client, grpc_route(filters=[mirror]), ns)
    wait_route_condition(
        api_client, ns, "echo", "Accepted", ("False", "UnsupportedValue"), kind="GRPCRoute"
    )
    eventually(
        lambda: _paths(api_client, ns) == [],
        timeout=30,
        what="the refused GRPCRoute gone from the gateway's proxy config",
    )


def test_grpc_route_newer_than_an_http_route_on_its_hostname_waits_for_it_to_go(
    api_client: ApiClient, namespace: str, class_name: str, gateway_api_operator: OperatorProcess
) -> None:
    ns = namespace
    backend = service()
    backend["spec"]["ports"][0]["appProtocol"] = "kubernetes.io/h2c"
    apply(api_client, backend, ns)
    apply(api_client, gateway(class_name), ns)
    apply(api_client, http_route(), ns)
    wait_route_condition(api_client, ns, "web", "Accepted", ("True", "Accepted"))
    apply(api_client, grpc_route(), ns)  # newer, same listener, every hostname

    wait_route_condition(
        api_client, ns, "echo", "Accepted", ("False", "HostnameConflict"), kind="GRPCRoute"
    )
    assert _paths(api_client, ns) == ["/"]  # the HTTPRoute's rule only

    delete(api_client, "HTTPRoute", ns, "web")
    wait_route_condition(api_client, ns, "echo", "Accepted", ("True", "Accepted"), kind="GRPCRoute")
    eventually(
        lambda: _paths(api_client, ns) == ["/echo.v1.Echo/Echo"],
        timeout=30,
        what="the GRPCRoute served once the HTTPRoute is gone",
    )
