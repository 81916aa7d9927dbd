"""On the real API server, per-listener status: InvalidCertificateRef for a missing or malformed
certificate Secret, InvalidRouteKinds with the supported kinds left, ProtocolConflict for two
listeners of different protocols on one port; the Gateway stays Accepted with ListenersNotValid."""

from __future__ import annotations

from typing import Any

from controller_kit import eventually
from gwapi_harness import apply, find, gateway, get
from kubernetes.client import ApiClient
from operator_harness import OperatorProcess

MALFORMED = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "malformed"},
    "type": "kubernetes.io/tls",
    "data": {"tls.crt": "SGVsbG8gd29ybGQK", "tls.key": "SGVsbG8gd29ybGQK"},
}


def _https(name: str, port: int, secret: str) -> dict[str, Any]:
    return {
        "name": name,
        "port": port,
        "protocol": "HTTPS",
        "hostname": f"{name}.example.com",
        "tls": {"certificateRefs": [{"name": secret}]},
    }


LISTENERS = [
    _https("missing", 8443, "no-such-secret"),
    _https("malformed", 8444, "malformed"),
    {
        "name": "kinds",
        "port": 8080,
        "protocol": "HTTP",
        "allowedRoutes": {"kinds": [{"kind": "TCPRoute"}, {"kind": "HTTPRoute"}]},
    },
    {"name": "twin-a", "port": 8090, "protocol": "HTTP"},
    _https("twin-b", 8090, "malformed"),
]


def _listener_conditions(api: ApiClient, ns: str) -> dict[str, Any] | None:
    gw = get(api, "Gateway", ns, "edge")
    listeners = ((gw or {}).get("status") or {}).get("listeners") or []
    if len(listeners) != len(LISTENERS):
        return None
    return {ln["name"]: ln for ln in listeners}


def test_listener_problems(
    api_client: ApiClient, namespace: str, class_name: str, gateway_api_operator: OperatorProcess
) -> None:
    ns = namespace
    apply(api_client, MALFORMED, ns)
    apply(api_client, gateway(class_name, *LISTENERS), ns)
    listeners = eventually(
        lambda: _listener_conditions(api_client, ns), timeout=30, what="listener status"
    )

    def reason(name: str, type_: str) -> tuple[str, str]:
        c = find(listeners[name]["conditions"], type_)
        assert c is not None
        return c["status"], c["reason"]

    assert reason("missing", "ResolvedRefs") == ("False", "InvalidCertificateRef")
    assert reason("malformed", "ResolvedRefs") == ("False", "InvalidCertificateRef")
    assert reason("missing", "Programmed") == ("False", "Invalid")
    assert reason("kinds", "ResolvedRefs") == ("False", "InvalidRouteKinds")
    assert listeners["kinds"]["supportedKinds"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}
    ]
    assert reason("twin-a", "Conflicted") == ("True", "ProtocolConflict")
    assert reason("twin-b", "Conflicted") == ("True", "ProtocolConflict")
    gw = get(api_client, "Gateway", ns, "edge")
    assert gw is not None
    accepted = find(gw["status"]["conditions"], "Accepted")
    assert accepted is not None
    assert (accepted["status"], accepted["reason"]) == ("True", "ListenersNotValid")
