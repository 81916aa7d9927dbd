"""On the real API server, a Gateway meshgate cannot serve says why: a TCP listener is
UnsupportedProtocol (the Gateway then ListenersNotValid, not accepted), `spec.addresses` is
UnsupportedAddress, and a Gateway sharing a meshgate Gateway's name is Invalid; none of them
gets a workload."""

from __future__ import annotations

from typing import Any

from controller_kit import eventually
from gwapi_harness import apply, find, gateway, get
from kubernetes.client import ApiClient
from operator_harness import OperatorProcess


def _accepted(api: ApiClient, ns: str, name: str) -> tuple[str, str] | None:
    gw = get(api, "Gateway", ns, name)
    c = find(((gw or {}).get("status") or {}).get("conditions"), "Accepted")
    if gw is None or c is None or c["reason"] == "Pending":
        return None
    return c["status"], c["reason"]


def test_refused_gateways(
    api_client: ApiClient, namespace: str, class_name: str, gateway_api_operator: OperatorProcess
) -> None:
    ns = namespace
    apply(
        api_client,
        gateway(class_name, {"name": "tcp", "port": 9000, "protocol": "TCP"}, name="tcp"),
        ns,
    )
    addressed: dict[str, Any] = gateway(class_name, name="addressed")
    addressed["spec"]["addresses"] = [{"type": "IPAddress", "value": "198.19.0.99"}]
    apply(api_client, addressed, ns)
    native = {
        "apiVersion": "meshgate.io/v1alpha1",
        "kind": "Gateway",
        "metadata": {"name": "twin"},
        "spec": {"listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}]},
    }
    apply(api_client, native, ns)
    apply(api_client, gateway(class_name, name="twin"), ns)

    for name, want in (
        ("tcp", ("False", "ListenersNotValid")),
        ("addressed", ("False", "UnsupportedAddress")),
        ("twin", ("False", "Invalid")),
    ):
        eventually(
            lambda n=name, w=want: _accepted(api_client, ns, n) == w,  # type: ignore[misc]
            timeout=30,
            what=f"Gateway {name} Accepted={want}",
        )
    tcp = get(api_client, "Gateway", ns, "tcp")
    assert tcp is not None
    (listener,) = tcp["status"]["listeners"]
    reason = find(listener["conditions"], "Accepted")
    assert reason is not None
    assert (reason["status"], reason["reason"]) == ("False", "UnsupportedProtocol")
    assert listener["supportedKinds"] == []
    for name in ("tcp", "addressed"):
        assert get(api_client, "ConfigMap", ns, f"meshgate-gw-{name}", api_version="v1") is None
    # The meshgate Gateway keeps its own workload.
    twin = get(api_client, "ConfigMap", ns, "meshgate-gw-twin", api_version="v1")
    assert twin is not None
    (owner,) = twin["metadata"]["ownerReferences"]
    assert owner["apiVersion"] == "meshgate.io/v1alpha1"
