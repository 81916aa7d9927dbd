"""Fixtures for the operator's integration tests: CRDs installed once, an operator process per
test watching only that test's namespace (so tests never see each other's objects)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client import ApiClient
from operator_harness import OPERATOR_NAMESPACE, OperatorProcess, ensure_namespace, install_crds


@pytest.fixture(scope="session")
def operator_crds(api_client: ApiClient) -> None:
    """The CRDs, and the operator's own namespace, which the chart creates and `meshgate
    operator` waits for."""
    install_crds(api_client)
    ensure_namespace(api_client, OPERATOR_NAMESPACE)


@pytest.fixture
def running_operator(
    operator_crds: None, kubeconfig: str, namespace: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    op = OperatorProcess(kubeconfig, namespace, tmp_path / "operator.log")
    op.start()
    try:
        yield op
    finally:
        op.stop()
        print(op.log_tail())
