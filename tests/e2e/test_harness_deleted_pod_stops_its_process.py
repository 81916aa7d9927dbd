"""Deleting a Pod stops its container process (by the PID the agent started) and removes it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.session import APPS, NodeAgent
from kubernetes import client
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from meshgate.localcluster.waiting import wait_for


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (
        Path(f"/proc/{pid}").exists() and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    )


def test_deleting_a_pod_stops_its_process_and_finalizes_it(
    node_agent: NodeAgent,
    api_client: ApiClient,
    namespace: str,
    apply_manifest: Callable[[Path, str], list[Any]],
) -> None:
    core = client.CoreV1Api(api_client)
    apply_manifest(APPS / "echo-deployment.yaml", namespace)

    def a_running_container() -> tuple[str, int] | None:
        for pod in core.list_namespaced_pod(namespace, label_selector="app=echo").items:
            for status in pod.status.container_statuses or []:
                if status.state.running and (status.container_id or "").startswith("local://"):
                    return pod.metadata.name, int(status.container_id.removeprefix("local://"))
        return None

    name, pid = wait_for(a_running_container, timeout=60, what="a running echo container")
    assert _pid_alive(pid)

    core.delete_namespaced_pod(name, namespace)

    def pod_gone() -> bool:
        try:
            core.read_namespaced_pod(name, namespace)
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(pod_gone, timeout=30, what=f"Pod {name} to be finalized by the agent")
    wait_for(lambda: not _pid_alive(pid), timeout=10, what=f"process {pid} of {name} to exit")
