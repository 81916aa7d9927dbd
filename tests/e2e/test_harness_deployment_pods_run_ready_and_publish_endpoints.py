"""A Deployment's Pods are bound, run as local processes on their own addresses, turn Ready
from their readiness probes, and the real endpoint-slice controller publishes them."""

from __future__ import annotations

import ipaddress
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.session import APPS, NodeAgent
from kubernetes import client
from kubernetes.client import ApiClient

from meshgate.localcluster.waiting import wait_for


def _ready_pods(core: client.CoreV1Api, namespace: str) -> list[Any] | None:
    pods = core.list_namespaced_pod(namespace, label_selector="app=echo").items
    ready = [
        p
        for p in pods
        if p.status.phase == "Running"
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    ]
    return ready if len(ready) == 2 else None


def test_two_echo_pods_get_distinct_addresses_answer_and_are_published(
    node_agent: NodeAgent,
    api_client: ApiClient,
    namespace: str,
    apply_manifest: Callable[[Path, str], list[Any]],
) -> None:
    core = client.CoreV1Api(api_client)
    discovery = client.DiscoveryV1Api(api_client)
    apply_manifest(APPS / "echo-deployment.yaml", namespace)

    pods = wait_for(
        lambda: _ready_pods(core, namespace), timeout=60, what="two Running, Ready echo Pods"
    )
    addresses = {p.metadata.name: p.status.pod_ip for p in pods}
    assert len(set(addresses.values())) == 2
    subnet = ipaddress.ip_network(node_agent.subnet)
    for pod in pods:
        assert pod.spec.node_name == "meshgate-local-node"
        assert ipaddress.ip_address(pod.status.pod_ip) in subnet
        assert pod.status.host_ip == node_agent.node_ip
        assert pod.status.container_statuses[0].ready

    def published() -> set[str] | None:
        slices = discovery.list_namespaced_endpoint_slice(
            namespace, label_selector="kubernetes.io/service-name=echo"
        ).items
        ready = {
            a for s in slices for e in s.endpoints or [] if e.conditions.ready for a in e.addresses
        }
        return ready if ready == set(addresses.values()) else None

    wait_for(published, timeout=30, what="both Pod addresses ready in the echo EndpointSlice")

    # No proxy from the environment: the request must reach the Pod's own address.
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for name, ip in addresses.items():
        with direct.open(f"http://{ip}:8080/who", timeout=5) as response:
            answer = json.load(response)
        assert answer["pod"] == name
        assert answer["namespace"] == namespace
        assert answer["path"] == "/who"
