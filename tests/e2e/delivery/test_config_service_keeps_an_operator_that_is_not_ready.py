"""The config server's Service keeps routing to an operator whose Pod is not Ready.

The operator's readiness is its reconcile's health; its config server answers from the
ConfigMaps it watches as soon as it listens. A restarted operator is not Ready until its next
readiness probe passes (seconds after it listens): through a Service that followed readiness,
every proxy would wait that long for the change made while the operator was away. So while the
killed operator's Pod is not Ready, the webhook Service (which follows readiness) drops its
address and the config Service keeps it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from delivery_kit import operator_pid
from harness.session import NodeAgent
from helm_release import Release, pod_is_ready
from kubernetes import client
from kubernetes.client import ApiClient

from meshgate.localcluster.waiting import wait_for


@pytest.fixture
def operator_back(meshgate_release: Release) -> Iterator[None]:
    """The session gets its operator back, Ready and injecting, whatever the test did."""
    try:
        yield
    finally:
        wait_for(meshgate_release.ready_operator_pods, timeout=120, what="the operator back")
        meshgate_release.wait_until_injecting(90)


def _readiness(api_client: ApiClient, namespace: str, service: str, ip: str) -> bool | None:
    """Whether `service`'s EndpointSlices list `ip` as ready (None: not listed at all)."""
    slices = client.DiscoveryV1Api(api_client).list_namespaced_endpoint_slice(
        namespace, label_selector=f"kubernetes.io/service-name={service}"
    )
    for endpoint_slice in slices.items:
        for endpoint in endpoint_slice.endpoints or []:
            if ip in (endpoint.addresses or []):
                conditions = endpoint.conditions
                return conditions is None or conditions.ready is not False
    return None


def _services(api_client: ApiClient, namespace: str) -> tuple[str, str]:
    """(the config server's Service, the webhook's), by the ports they expose."""
    config = webhook = ""
    for service in client.CoreV1Api(api_client).list_namespaced_service(namespace).items:
        ports = {p.name for p in service.spec.ports or []}
        if "config" in ports:
            config = service.metadata.name
        if "https" in ports and not service.spec.publish_not_ready_addresses:
            webhook = service.metadata.name
    assert config, "no Service with a port named config"
    assert webhook, "no webhook Service"
    return config, webhook


def test_the_config_service_routes_to_a_restarted_operator_before_it_is_ready(
    meshgate_release: Release, api_client: ApiClient, node_agent: NodeAgent, operator_back: None
) -> None:
    namespace = meshgate_release.namespace
    pods = wait_for(meshgate_release.ready_operator_pods, timeout=120, what="the operator Ready")
    ip = pods[0]["status"]["podIP"]
    config, webhook = _services(api_client, namespace)
    assert _readiness(api_client, namespace, config, ip) is True

    pid = wait_for(lambda: operator_pid(node_agent.pid), timeout=30, what="the operator process")
    os.kill(pid, signal.SIGKILL)

    def not_ready() -> dict[str, Any] | None:
        found = meshgate_release.operator_pods()
        return found[0] if found and not pod_is_ready(found[0]) else None

    wait_for(not_ready, timeout=30, what="the killed operator's Pod not Ready")
    # The webhook Service follows readiness: once it dropped the address, the endpoint
    # controller has seen the Pod not Ready.
    wait_for(
        lambda: _readiness(api_client, namespace, webhook, ip) is False,
        timeout=30,
        what="the webhook Service's endpoint not ready",
    )
    config_ready = []

    def ready_again() -> bool:
        config_ready.append(_readiness(api_client, namespace, config, ip))
        return meshgate_release.ready_operator_pods() is not None

    wait_for(ready_again, timeout=120, what="the restarted operator Ready")
    assert config_ready
    assert all(r is True for r in config_ready), config_ready
