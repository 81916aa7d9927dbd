"""Fixtures of the identity integration tests: the meshgate CRDs, a namespace labelled for
injection that doubles as the operator namespace, and the identity controller running in a kopf
subprocess that watches only that namespace (so tests never see each other's objects)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from identity_harness import IdentityController, install_crds, label_namespace_for_injection
from kubernetes.client import ApiClient


@pytest.fixture(scope="session")
def identity_crds(api_client: ApiClient) -> None:
    # Left installed: CRDs are cluster-wide and a reused cluster may serve other tests' objects.
    install_crds(api_client)


@pytest.fixture
def meshed_namespace(identity_crds: None, api_client: ApiClient, namespace: str) -> str:
    label_namespace_for_injection(api_client, namespace)
    return namespace


StartController = Callable[..., IdentityController]


@pytest.fixture
def identity_controller(
    kubeconfig: str, meshed_namespace: str, tmp_path: Path
) -> Iterator[StartController]:
    """Starts controllers on demand (tests pass env settings); all are stopped by PID after."""
    started: list[IdentityController] = []

    def start(**env: str) -> IdentityController:
        controller = IdentityController(
            kubeconfig, meshed_namespace, tmp_path / f"identity-{len(started)}.log", **env
        )
        controller.start()
        started.append(controller)
        return controller

    try:
        yield start
    finally:
        for controller in started:
            controller.stop()
            print(controller.log_text()[-4000:])
