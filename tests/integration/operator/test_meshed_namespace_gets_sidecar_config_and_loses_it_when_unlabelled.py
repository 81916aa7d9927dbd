"""Labelling a namespace `meshgate.io/inject=enabled` gives it ConfigMap `meshgate-mesh` with a
virtual host per Service port; removing the label removes the ConfigMap."""

from __future__ import annotations

import json

from kubernetes.client import ApiClient
from manifests import endpoint_slice, service
from operator_harness import OperatorProcess, apply, call, eventually, get


def _label(api: ApiClient, ns: str, value: str | None) -> None:
    call(
        api,
        "PATCH",
        f"/api/v1/namespaces/{ns}",
        body={"metadata": {"labels": {"meshgate.io/inject": value}}},
        content_type="application/merge-patch+json",
    )


def test_mesh_config_follows_the_namespace_label(
    api_client: ApiClient, namespace: str, running_operator: OperatorProcess
) -> None:
    ns = namespace
    apply(api_client, service("orders"), ns)
    apply(api_client, endpoint_slice("orders", "10.9.0.7"), ns)
    _label(api_client, ns, "enabled")
    cm = eventually(
        lambda: get(api_client, "ConfigMap", "v1", ns, "meshgate-mesh"),
        timeout=20,
        what="meshgate-mesh ConfigMap",
    )
    config = json.loads(cm["data"]["config.json"])
    outbound, inbound = config["listeners"]
    (vhost,) = outbound["virtualHosts"]
    assert vhost["name"] == f"{ns}/orders:8080"
    assert "orders:8080" in vhost["domains"]
    assert f"orders.{ns}.svc.cluster.local:8080" in vhost["domains"]
    assert inbound["inbound"]["allowedPorts"] == [8080]
    (cluster,) = config["clusters"]
    assert cluster["tls"]["mode"] == "MESH"
    assert cluster["endpoints"][0]["address"] == "10.9.0.7"

    _label(api_client, ns, None)
    eventually(
        lambda: get(api_client, "ConfigMap", "v1", ns, "meshgate-mesh") is None,
        timeout=20,
        what="meshgate-mesh removed once the namespace is no longer meshed",
    )
