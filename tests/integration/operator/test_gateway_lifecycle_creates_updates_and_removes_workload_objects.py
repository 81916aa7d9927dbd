"""Create, update and delete a Gateway with a Route: exactly the expected objects and status."""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client import ApiClient
from manifests import API, endpoint_slice, gateway, route, service
from operator_harness import OperatorProcess, apply, call, condition, delete, eventually, get


def _config(api: ApiClient, ns: str) -> dict[str, Any] | None:
    cm = get(api, "ConfigMap", "v1", ns, "meshgate-gw-edge")
    return json.loads(cm["data"]["config.json"]) if cm else None


WORKLOAD = (("Deployment", "apps/v1"), ("Service", "v1"), ("PodDisruptionBudget", "policy/v1"))
GENERATED = "meshgate-gw-edge"


def _with(obj: dict[str, Any] | None, type_: str) -> dict[str, Any] | None:
    return obj if condition(obj, type_) else None


def test_gateway_with_route_gets_configmap_deployment_service_pdb_and_status(
    api_client: ApiClient, namespace: str, running_operator: OperatorProcess
) -> None:
    ns = namespace
    apply(api_client, service("orders"), ns)
    apply(api_client, endpoint_slice("orders", "10.9.0.1", "10.9.0.2"), ns)
    apply(api_client, gateway(), ns)
    apply(api_client, route("orders", "orders", "/orders"), ns)

    config = eventually(
        lambda: (c := _config(api_client, ns)) and c["listeners"][0]["virtualHosts"] and c,
        timeout=20,
        what="gateway ConfigMap with the route",
    )
    (vhost,) = config["listeners"][0]["virtualHosts"]
    assert vhost["routes"][0]["match"]["path"] == {"type": "PathPrefix", "value": "/orders"}
    (cluster,) = config["clusters"]
    assert cluster["name"] == f"{ns}/orders:8080"
    assert [e["address"] for e in cluster["endpoints"]] == ["10.9.0.1", "10.9.0.2"]

    for kind, version in (
        ("Deployment", "apps/v1"),
        ("Service", "v1"),
        ("PodDisruptionBudget", "policy/v1"),
    ):
        obj = eventually(
            lambda k=kind, v=version: get(api_client, k, v, ns, "meshgate-gw-edge"),
            timeout=10,
            what=kind,
        )
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "meshgate"
        assert obj["metadata"]["ownerReferences"][0]["kind"] == "Gateway"
        managers = {m["manager"] for m in obj["metadata"]["managedFields"]}
        assert "meshgate" in managers

    gw = eventually(
        lambda: (
            (g := get(api_client, "Gateway", API, ns, "edge")) and condition(g, "Programmed") and g
        ),
        timeout=10,
        what="gateway status",
    )
    programmed = condition(gw, "Programmed")
    assert programmed is not None
    assert programmed["status"] == "True"
    assert config["version"] in programmed["message"]
    assert gw["status"]["observedGeneration"] == gw["metadata"]["generation"]
    assert gw["status"]["listeners"][0]["attachedRoutes"] == 1

    rt = eventually(
        lambda: (
            (r := get(api_client, "Route", API, ns, "orders")) and condition(r, "Accepted") and r
        ),
        timeout=10,
        what="route status",
    )
    assert condition(rt, "Accepted")["status"] == "True"  # type: ignore[index]
    assert condition(rt, "ResolvedRefs")["status"] == "True"  # type: ignore[index]
    assert rt["status"]["servedOn"]["gateways"][0]["name"] == "edge"

    # Update: the route's path changes, the ConfigMap follows with a new version.
    old_version = config["version"]
    apply(api_client, route("orders", "orders", "/v2/orders"), ns)
    updated = eventually(
        lambda: (c := _config(api_client, ns)) and c["version"] != old_version and c,
        timeout=10,
        what="config with the new path",
    )
    assert (
        updated["listeners"][0]["virtualHosts"][0]["routes"][0]["match"]["path"]["value"]
        == "/v2/orders"
    )

    # Delete: the Gateway goes, its objects go with it. The operator is stopped first, so it is
    # the garbage collector following the ownerReferences that removes them.
    running_operator.stop()
    delete(api_client, "Gateway", API, ns, "edge")
    for kind, version in (
        ("ConfigMap", "v1"),
        ("Deployment", "apps/v1"),
        ("Service", "v1"),
        ("PodDisruptionBudget", "policy/v1"),
    ):
        eventually(
            lambda k=kind, v=version: get(api_client, k, v, ns, "meshgate-gw-edge") is None,
            # The garbage collector learns new CRDs by rediscovery (every 30 s), so a Gateway kind
            # installed moments ago can take that long to be followed.
            timeout=90,
            what=f"{kind} removed with its Gateway",
        )
    listed = call(
        api_client,
        "GET",
        f"/api/v1/namespaces/{ns}/configmaps",
        query=[("labelSelector", "app.kubernetes.io/managed-by=meshgate")],
    )
    assert listed["items"] == []
