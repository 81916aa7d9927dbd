"""STRICT on a namespace generates `meshgate-strict-namespace`, admitting only the proxy's
inbound (15006) and health (15090) ports to meshed Pods; deleting it brings it back; switching
the PeerAuthentication to PERMISSIVE removes it."""

from __future__ import annotations

from typing import Any

from identity_harness import apply, delete, eventually, get, meshgate_path, policy_path
from kubernetes.client import ApiClient


def _peer_authentication(namespace: str, mode: str) -> dict[str, Any]:
    return {
        "apiVersion": "meshgate.io/v1alpha1",
        "kind": "PeerAuthentication",
        "metadata": {"name": "default", "namespace": namespace},
        "spec": {"mtls": {"mode": mode}},
    }


def test_network_policy_follows_the_peer_authentication_mode(
    api_client: ApiClient, meshed_namespace: str, identity_controller
) -> None:
    ns = meshed_namespace
    identity_controller()
    pa = meshgate_path("peerauthentications", ns, "default")
    np = policy_path(ns, "meshgate-strict-namespace")

    apply(api_client, pa, _peer_authentication(ns, "STRICT"))
    policy = eventually(lambda: get(api_client, np), timeout=30, what="the STRICT NetworkPolicy")
    assert policy["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "meshgate"
    assert policy["spec"]["podSelector"] == {"matchLabels": {"meshgate.io/injected": "true"}}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert [p["port"] for p in policy["spec"]["ingress"][0]["ports"]] == [15006, 15090]
    managers = {m["manager"] for m in policy["metadata"]["managedFields"]}
    assert managers == {"meshgate"}

    delete(api_client, np)
    eventually(
        lambda: (p := get(api_client, np)) and p["metadata"]["uid"] != policy["metadata"]["uid"],
        timeout=30,
        what="the deleted NetworkPolicy to come back",
    )

    apply(api_client, pa, _peer_authentication(ns, "PERMISSIVE"))
    eventually(
        lambda: get(api_client, np) is None, timeout=30, what="the NetworkPolicy to be removed"
    )
