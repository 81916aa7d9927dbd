"""A ConfigMap edit reaches the file the Pod mounts, swapped atomically like kubelet's `..data`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.session import APPS, NodeAgent
from kubernetes import client
from kubernetes.client import ApiClient

from meshgate.localcluster.waiting import wait_for


def test_configmap_change_appears_in_the_mounted_file(
    node_agent: NodeAgent,
    api_client: ApiClient,
    namespace: str,
    apply_manifest: Callable[[Path, str], list[Any]],
) -> None:
    core = client.CoreV1Api(api_client)
    apply_manifest(APPS / "echo-deployment.yaml", namespace)

    def mounted_files() -> list[Path] | None:
        pods = core.list_namespaced_pod(namespace, label_selector="app=echo").items
        files = [
            node_agent.state_dir
            / "pods"
            / f"{namespace}_{p.metadata.name}_{p.metadata.uid}"
            / "root/etc/echo/greeting.txt"
            for p in pods
        ]
        return files if len(files) == 2 and all(f.is_file() for f in files) else None

    files = wait_for(mounted_files, timeout=60, what="greeting.txt mounted in both echo Pods")
    assert {f.read_text() for f in files} == {"hello"}
    assert (files[0].parent / "..data").is_symlink()

    core.patch_namespaced_config_map("echo-greeting", namespace, {"data": {"greeting.txt": "bye"}})

    wait_for(
        lambda: all(f.read_text() == "bye" for f in files),
        timeout=15,
        what="the edited greeting in both Pods' mounted files",
    )
