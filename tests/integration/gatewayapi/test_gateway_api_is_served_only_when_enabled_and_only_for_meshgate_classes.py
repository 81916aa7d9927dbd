"""`gatewayAPI.enabled` really decides: with MESHGATE_GATEWAY_API off the operator writes no
status on a Gateway of meshgate's class and generates nothing for it; on, it never touches a
GatewayClass, Gateway or HTTPRoute of another controller."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from controller_kit import eventually
from gwapi_harness import CONTROLLER, apply, delete, gateway, get, http_route, service
from kubernetes.client import ApiClient
from operator_harness import OperatorProcess


@pytest.fixture
def other_class(gateway_api_crds: None, api_client: ApiClient, namespace: str) -> Iterator[str]:
    name = f"other-{namespace}"[:63]
    apply(
        api_client,
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": name},
            "spec": {"controllerName": "example.com/another-controller"},
        },
    )
    try:
        yield name
    finally:
        delete(api_client, "GatewayClass", "", name)


def test_feature_off_leaves_gateway_api_objects_alone(
    api_client: ApiClient, namespace: str, class_name: str, kubeconfig: str, tmp_path: Path
) -> None:
    ns = namespace
    op = OperatorProcess(kubeconfig, ns, tmp_path / "op.log", MESHGATE_GATEWAY_API="false")
    op.start()
    try:
        apply(api_client, service(), ns)
        apply(api_client, gateway(class_name), ns)
        apply(api_client, http_route(), ns)
        # A meshgate Route's status proves the operator is reconciling this namespace.
        apply(
            api_client,
            {
                "apiVersion": "meshgate.io/v1alpha1",
                "kind": "Route",
                "metadata": {"name": "probe"},
                "spec": {
                    "hosts": ["web"],
                    "rules": [{"backendRefs": [{"name": "web", "port": 8080}]}],
                },
            },
            ns,
        )
        eventually(
            lambda: (get(api_client, "Route", ns, "probe", "meshgate.io/v1alpha1") or {}).get(
                "status"
            ),
            timeout=30,
            what="the meshgate Route's status",
        )
        time.sleep(1.0)  # a further reconcile would have written the Gateway API statuses
        assert not (get(api_client, "Gateway", ns, "edge") or {}).get("status", {}).get("addresses")
        gw = get(api_client, "Gateway", ns, "edge") or {}
        assert all(
            c["reason"] == "Pending" for c in (gw.get("status") or {}).get("conditions") or []
        )
        assert not ((get(api_client, "HTTPRoute", ns, "web") or {}).get("status") or {}).get(
            "parents"
        )
        assert get(api_client, "ConfigMap", ns, "meshgate-gw-edge", api_version="v1") is None
    finally:
        op.stop()
        print(op.log_tail())


def test_other_controllers_objects_get_no_status(
    api_client: ApiClient,
    namespace: str,
    class_name: str,
    other_class: str,
    gateway_api_operator: OperatorProcess,
) -> None:
    ns = namespace
    apply(api_client, service(), ns)
    apply(api_client, gateway(other_class, name="theirs"), ns)
    apply(api_client, gateway(class_name), ns)
    apply(
        api_client,
        {
            **http_route(),
            "spec": {**http_route()["spec"], "parentRefs": [{"name": "theirs"}, {"name": "edge"}]},
        },
        ns,
    )
    eventually(
        lambda: [
            p
            for p in ((get(api_client, "HTTPRoute", ns, "web") or {}).get("status") or {}).get(
                "parents"
            )
            or []
            if p["controllerName"] == CONTROLLER
        ],
        timeout=30,
        what="meshgate's parent entry",
    )
    route = get(api_client, "HTTPRoute", ns, "web")
    assert route is not None
    assert [p["parentRef"]["name"] for p in route["status"]["parents"]] == ["edge"]
    theirs = get(api_client, "Gateway", ns, "theirs") or {}
    assert all(c["reason"] == "Pending" for c in theirs["status"]["conditions"])
    gc = get(api_client, "GatewayClass", "", other_class) or {}
    assert all(c["reason"] == "Pending" for c in gc["status"]["conditions"])
    assert get(api_client, "ConfigMap", ns, "meshgate-gw-theirs", api_version="v1") is None
