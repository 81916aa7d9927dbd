"""On the real API server: meshgate's GatewayClass is Accepted with SupportedVersion; a Gateway
of it is Accepted and Programmed at its Service's address with per-listener status; an HTTPRoute
gets meshgate's parent entry (Accepted, ResolvedRefs); the proxy config, Deployment and Service
are generated and owned by the standard Gateway; a spec change moves observedGeneration."""

from __future__ import annotations

import json
from typing import Any

from controller_kit import eventually
from gwapi_harness import (
    apply,
    find,
    gateway,
    get,
    http_route,
    service,
    wait_route_condition,
)
from kubernetes.client import ApiClient
from operator_harness import OperatorProcess


def _true(conditions: list[dict[str, Any]] | None, type_: str, generation: int) -> bool:
    c = find(conditions, type_)
    return c is not None and c["status"] == "True" and c["observedGeneration"] == generation


def test_basic_gateway_and_route(
    api_client: ApiClient, namespace: str, class_name: str, gateway_api_operator: OperatorProcess
) -> None:
    ns = namespace
    apply(api_client, service(), ns)
    apply(api_client, gateway(class_name), ns)
    apply(api_client, http_route(hostnames=["shop.example.com"]), ns)

    gc = eventually(
        lambda: (
            (o := get(api_client, "GatewayClass", "", class_name))
            and _true((o.get("status") or {}).get("conditions"), "Accepted", 1)
            and o
        ),
        timeout=30,
        what="GatewayClass Accepted",
    )
    assert find(gc["status"]["conditions"], "SupportedVersion")["status"] == "True"

    gw = eventually(
        lambda: (
            (o := get(api_client, "Gateway", ns, "edge"))
            and _true((o.get("status") or {}).get("conditions"), "Programmed", 1)
            and o
        ),
        timeout=30,
        what="Gateway Programmed",
    )
    status = gw["status"]
    assert find(status["conditions"], "Accepted")["reason"] == "Accepted"
    svc = get(api_client, "Service", ns, "meshgate-gw-edge", api_version="v1")
    assert svc is not None
    assert status["addresses"] == [{"type": "IPAddress", "value": svc["spec"]["clusterIP"]}]
    (listener,) = status["listeners"]
    assert listener["supportedKinds"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"},
        {"group": "gateway.networking.k8s.io", "kind": "GRPCRoute"},
    ]
    for type_ in ("Accepted", "ResolvedRefs", "Programmed"):
        assert find(listener["conditions"], type_)["status"] == "True", type_

    wait_route_condition(api_client, ns, "web", "Accepted", ("True", "Accepted"))
    wait_route_condition(api_client, ns, "web", "ResolvedRefs", ("True", "ResolvedRefs"))
    eventually(
        lambda: (
            (o := get(api_client, "Gateway", ns, "edge"))
            and o["status"]["listeners"][0]["attachedRoutes"] == 1
        ),
        timeout=30,
        what="attachedRoutes 1",
    )

    config_map = get(api_client, "ConfigMap", ns, "meshgate-gw-edge", api_version="v1")
    assert config_map is not None
    (owner,) = config_map["metadata"]["ownerReferences"]
    assert (owner["apiVersion"], owner["kind"], owner["name"]) == (
        "gateway.networking.k8s.io/v1",
        "Gateway",
        "edge",
    )
    config = json.loads(config_map["data"]["config.json"])
    (vhost,) = config["listeners"][0]["virtualHosts"]
    assert vhost["domains"][0] == "shop.example.com"

    # A spec change: every condition follows the new generation.
    changed = gateway(class_name, {"name": "http", "port": 8081, "protocol": "HTTP"})
    apply(api_client, changed, ns)
    eventually(
        lambda: (
            (o := get(api_client, "Gateway", ns, "edge"))
            and all(c["observedGeneration"] == 2 for c in o["status"]["conditions"])
            and all(
                c["observedGeneration"] == 2
                for ln in o["status"]["listeners"]
                for c in ln["conditions"]
            )
        ),
        timeout=30,
        what="Gateway conditions at generation 2",
    )
