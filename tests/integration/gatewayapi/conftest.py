"""Fixtures of the Gateway API integration tests: the meshgate and Gateway API CRDs installed
once, a GatewayClass of meshgate's per test (cluster-scoped, so named after the test's
namespace and deleted afterwards), and an operator serving the Gateway API in that namespace."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client import ApiClient

# The operator process helpers live beside the operator's own integration tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "operator"))

from gwapi_harness import (
    apply,
    delete,
    gateway_class,
    install_gateway_api_crds,
    start_operator,
)
from operator_harness import OPERATOR_NAMESPACE, OperatorProcess, ensure_namespace, install_crds


@pytest.fixture(scope="session")
def gateway_api_crds(api_client: ApiClient) -> None:
    """Both APIs' CRDs, and the operator's own namespace, which `meshgate operator` waits for."""
    install_crds(api_client)
    install_gateway_api_crds(api_client)
    ensure_namespace(api_client, OPERATOR_NAMESPACE)


@pytest.fixture
def class_name(gateway_api_crds: None, api_client: ApiClient, namespace: str) -> Iterator[str]:
    name = f"meshgate-{namespace}"[:63]
    apply(api_client, gateway_class(name))
    try:
        yield name
    finally:
        delete(api_client, "GatewayClass", "", name)


@pytest.fixture
def gateway_api_operator(
    class_name: str, kubeconfig: str, namespace: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    op = start_operator(kubeconfig, namespace, tmp_path / "operator.log")
    try:
        yield op
    finally:
        op.stop()
        print(op.log_tail())
