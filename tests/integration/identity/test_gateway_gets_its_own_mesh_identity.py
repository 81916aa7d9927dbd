"""A Gateway gets `meshgate-gw-<name>-identity`, the Secret its Deployment mounts, naming the
gateway's own SPIFFE identity; deleting the Gateway removes it."""

from __future__ import annotations

from identity_harness import (
    apply,
    delete,
    eventually,
    get,
    leaf,
    meshgate_path,
    secret_path,
    uri_sans,
)
from kubernetes.client import ApiClient


def test_gateway_identity_follows_the_gateway(
    api_client: ApiClient, meshed_namespace: str, identity_controller
) -> None:
    ns = meshed_namespace
    identity_controller()
    gw = meshgate_path("gateways", ns, "public")
    apply(
        api_client,
        gw,
        {
            "apiVersion": "meshgate.io/v1alpha1",
            "kind": "Gateway",
            "metadata": {"name": "public", "namespace": ns},
            "spec": {"listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}]},
        },
    )
    path = secret_path(ns, "meshgate-gw-public-identity")
    secret = eventually(lambda: get(api_client, path), timeout=30, what="the gateway identity")
    assert uri_sans(leaf(secret)) == [f"spiffe://cluster.local/ns/{ns}/sa/meshgate-gw-public"]

    delete(api_client, gw)
    eventually(
        lambda: get(api_client, path) is None, timeout=30, what="the gateway identity removed"
    )
