"""Fixtures of the API integration tests: the meshgate CRDs installed on the real API server."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException
from meshgate_apply import install_crds, install_gateway_api_crds


@pytest.fixture(scope="session")
def meshgate_crds(api_client: ApiClient) -> None:
    """Every generated CRD applied and Established (left installed: CRDs are cluster-wide and a
    reused `make up` cluster may be serving other tests' objects), and the Gateway API's
    standard-channel CRDs the chart carries (examples/gateway-api/ needs them)."""
    install_crds(api_client)
    install_gateway_api_crds(api_client)


@pytest.fixture(scope="module")
def module_namespace(api_client: ApiClient) -> Iterator[str]:
    """One namespace shared by a module's table-driven cases; deleted afterwards."""
    core = client.CoreV1Api(api_client)
    name = f"meshgate-api-{secrets.token_hex(3)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        try:
            core.delete_namespace(name)
        except ApiException as exc:
            if exc.status != 404:
                raise
