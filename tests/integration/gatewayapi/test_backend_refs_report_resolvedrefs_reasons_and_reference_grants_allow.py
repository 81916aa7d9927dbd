"""On the real API server, ResolvedRefs=False names why a backendRef cannot be used:
BackendNotFound (then True when the Service appears), InvalidKind, RefNotPermitted (then True
once a ReferenceGrant in the Service's namespace allows it); an unsupported filter refuses the
route with UnsupportedValue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gwapi_harness import (
    apply,
    gateway,
    http_route,
    service,
    start_operator,
    wait_route_condition,
)
from kubernetes import client
from kubernetes.client import ApiClient
from operator_harness import OperatorProcess


@pytest.fixture
def backend_namespace(api_client: ApiClient, namespace: str) -> Iterator[str]:
    core = client.CoreV1Api(api_client)
    name = f"{namespace}-b"[:63]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        core.delete_namespace(name)


@pytest.fixture
def operator_of_both(
    class_name: str, kubeconfig: str, namespace: str, backend_namespace: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    op = start_operator(kubeconfig, f"{namespace},{backend_namespace}", tmp_path / "op.log")
    try:
        yield op
    finally:
        op.stop()
        print(op.log_tail())


def test_backend_not_found_then_found(
    api_client: ApiClient, namespace: str, class_name: str, gateway_api_operator: OperatorProcess
) -> None:
    ns = namespace
    apply(api_client, gateway(class_name), ns)
    apply(api_client, http_route(), ns)
    wait_route_condition(api_client, ns, "web", "ResolvedRefs", ("False", "BackendNotFound"))
    wait_route_condition(api_client, ns, "web", "Accepted", ("True", "Accepted"))
    apply(api_client, service(), ns)
    wait_route_condition(api_client, ns, "web", "ResolvedRefs", ("True", "ResolvedRefs"))


def test_invalid_kind_and_unsupported_value(
    api_client: ApiClient, namespace: str, class_name: str, gateway_api_operator: OperatorProcess
) -> None:
    ns = namespace
    apply(api_client, service(), ns)
    apply(api_client, gateway(class_name), ns)
    apply(api_client, http_route("kind", backend={"kind": "Pod", "name": "web", "port": 8080}), ns)
    extension = {
        "type": "ExtensionRef",
        "extensionRef": {"group": "example.com", "kind": "Filter", "name": "f"},
    }
    apply(api_client, http_route("ext", filters=[extension]), ns)
    wait_route_condition(api_client, ns, "kind", "ResolvedRefs", ("False", "InvalidKind"))
    wait_route_condition(api_client, ns, "ext", "Accepted", ("False", "UnsupportedValue"))


def test_cross_namespace_backend_needs_a_reference_grant(
    api_client: ApiClient,
    namespace: str,
    backend_namespace: str,
    class_name: str,
    operator_of_both: OperatorProcess,
) -> None:
    ns = namespace
    apply(api_client, service("api"), backend_namespace)
    apply(api_client, gateway(class_name), ns)
    ref = {"name": "api", "namespace": backend_namespace, "port": 8080}
    apply(api_client, http_route(backend=ref), ns)
    wait_route_condition(api_client, ns, "web", "ResolvedRefs", ("False", "RefNotPermitted"))
    grant = {
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "from-routes"},
        "spec": {
            "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": ns}],
            "to": [{"group": "", "kind": "Service", "name": "api"}],
        },
    }
    apply(api_client, grant, backend_namespace)
    wait_route_condition(api_client, ns, "web", "ResolvedRefs", ("True", "ResolvedRefs"))
