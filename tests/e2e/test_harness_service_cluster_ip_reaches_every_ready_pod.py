"""The agent plays kube-proxy: a connection to a Service's ClusterIP and port reaches one of
its ready Pods on the target port, as on a node; both Pods answer over enough requests."""

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

SERVICE_RANGE = ipaddress.ip_network("198.19.0.0/16")


def test_cluster_ip_forwards_to_both_ready_echo_pods(
    node_agent: NodeAgent,
    api_client: ApiClient,
    namespace: str,
    apply_manifest: Callable[[Path, str], list[Any]],
) -> None:
    core = client.CoreV1Api(api_client)
    apply_manifest(APPS / "echo-deployment.yaml", namespace)
    cluster_ip = core.read_namespaced_service("echo", namespace).spec.cluster_ip
    assert ipaddress.ip_address(cluster_ip) in SERVICE_RANGE
    # No proxy from the environment: the request must reach the Service address itself.
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def answering_pods() -> set[str] | None:
        seen = set()
        for _ in range(30):
            try:
                with direct.open(f"http://{cluster_ip}:80/who", timeout=2) as response:
                    seen.add(json.load(response)["pod"])
            except OSError:
                return None  # not forwarded yet (no ready endpoint, or rules not applied)
        return seen if len(seen) == 2 else None

    pods = wait_for(answering_pods, timeout=60, what=f"both echo Pods answering at {cluster_ip}")
    names = {p.metadata.name for p in core.list_namespaced_pod(namespace).items}
    assert pods == names
