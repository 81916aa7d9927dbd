"""With kubelet's delay on (the Node annotation the e2e delivery tests set), a ConfigMap edit
does NOT reach a running Pod's mounted file until its next volume sync: tests that pass under it
prove the config reached the proxy some other way. Turned off, the file follows again."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.agent import VOLUME_SYNC_ANNOTATION
from harness.node import NODE_NAME
from harness.session import APPS, NodeAgent
from kubernetes import client
from kubernetes.client import ApiClient

from meshgate.localcluster.waiting import wait_for


def _set_period(core: client.CoreV1Api, seconds: str | None) -> None:
    core.patch_node(NODE_NAME, {"metadata": {"annotations": {VOLUME_SYNC_ANNOTATION: seconds}}})


def test_a_configmap_edit_waits_for_the_sync_period(
    node_agent: NodeAgent,
    api_client: ApiClient,
    namespace: str,
    apply_manifest: Callable[[Path, str], list[Any]],
) -> None:
    core = client.CoreV1Api(api_client)
    _set_period(core, "3600")
    try:
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

        # A new Pod's volumes are projected when it starts, delay or not.
        files = wait_for(mounted_files, timeout=60, what="greeting.txt mounted in both echo Pods")
        assert {f.read_text() for f in files} == {"hello"}

        core.patch_namespaced_config_map(
            "echo-greeting", namespace, {"data": {"greeting.txt": "bye"}}
        )
        # Many agent passes (0.3 s each) go by; not one may project the edit.
        time.sleep(3)
        assert {f.read_text() for f in files} == {"hello"}
    finally:
        _set_period(core, None)
    wait_for(
        lambda: all(f.read_text() == "bye" for f in files),
        timeout=15,
        what="the edited greeting once the delay is off",
    )
