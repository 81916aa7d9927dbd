"""Fixtures for the injector's integration tests: a running injector for the session, and a way
to label the test's namespace. Modules here have unique names (no package), as pytest's default
import mode puts every test directory on sys.path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from inject_process import Injector, operator_namespace, start_injector
from kubernetes import client

from meshgate.inject import kubeio


@pytest.fixture(scope="session")
def injector(
    api_client: Any, rest: Any, kubeconfig: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Injector]:
    with operator_namespace(api_client) as ops:
        running = start_injector(
            api_client, kubeconfig, tmp_path_factory.mktemp("injector"), operator_namespace=ops
        )
        try:
            yield running
        finally:
            running.stop()
            kubeio.delete_webhook_configuration(rest, running.config_name)


@pytest.fixture
def injector_namespace(api_client: Any) -> Iterator[str]:
    """The operator namespace of a test's own injectors (their Secret lives there)."""
    with operator_namespace(api_client) as ops:
        yield ops


@pytest.fixture
def label_namespace(api_client: Any) -> Callable[[str, dict[str, str]], None]:
    core = client.CoreV1Api(api_client)

    def label(name: str, labels: dict[str, str]) -> None:
        core.patch_namespace(name, {"metadata": {"labels": labels}})

    return label
