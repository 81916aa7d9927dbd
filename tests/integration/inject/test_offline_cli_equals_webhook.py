"""`meshgate inject` offline and the webhook produce the same Pod, for every golden pod shape.

Each shape is created twice through the real API server: as sent, into a labelled namespace (the
webhook injects it), and after `meshgate inject`, into an unlabelled one (the webhook leaves it).
The stored Pods must match, apart from the ServiceAccount token volume, whose name is random and
which the API server adds to the containers present at the time (before the webhook runs).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from inject_helpers import create_pod
from inject_process import ENABLED, Injector
from kubernetes import client

from meshgate.inject import cli
from meshgate.localcluster.waiting import wait_for

CASES = Path(__file__).resolve().parents[2] / "golden" / "inject" / "cases"
# Shapes whose own settings or namespace the webhook cannot share with this test's cluster.
SKIP = {"kube-1.28-plain-container", "system-namespace", "operator-namespace"}
TOKEN_VOLUME = "kube-api-access-"


def comparable(pod: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(pod["spec"])
    spec["volumes"] = [v for v in spec.get("volumes", []) if not v["name"].startswith(TOKEN_VOLUME)]
    for field in ("containers", "initContainers"):
        for c in spec.get(field, []):
            mounts = [
                m for m in c.get("volumeMounts", []) if not m["name"].startswith(TOKEN_VOLUME)
            ]
            c["volumeMounts"] = mounts
    meta = pod["metadata"]
    return {"labels": meta.get("labels"), "annotations": meta.get("annotations"), "spec": spec}


@pytest.fixture
def second_namespace(api_client: Any, namespace: str) -> Any:
    core = client.CoreV1Api(api_client)
    name = f"{namespace[:50]}-offline"
    core.create_namespace({"metadata": {"name": name}})
    wait_for(
        lambda: any(
            sa.metadata.name == "default" for sa in core.list_namespaced_service_account(name).items
        ),
        timeout=30,
        what=f"ServiceAccount default in {name}",
    )
    # The golden shapes name this ServiceAccount; admission refuses Pods of a missing one.
    for ns in (namespace, name):
        core.create_namespaced_service_account(ns, {"metadata": {"name": "api"}})
    yield name
    core.delete_namespace(name)


def offline_inject(
    pod: dict[str, Any], operator_namespace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Any:
    src = tmp_path / "pod.yaml"
    src.write_text(yaml.safe_dump(pod))
    capsys.readouterr()
    # The operator namespace names the config server the sidecar streams from, as the webhook's.
    args = ["inject", "-f", str(src), "--operator-namespace", operator_namespace]
    assert cli.main(args) == 0
    return yaml.safe_load(capsys.readouterr().out)


def test_offline_inject_equals_webhook_for_every_pod_shape(
    api_client: Any,
    namespace: str,
    second_namespace: str,
    injector: Injector,
    label_namespace: Callable[[str, dict[str, str]], None],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    label_namespace(namespace, ENABLED)
    checked = 0
    for path in sorted(CASES.glob("*.yaml")):
        name = path.stem
        if name in SKIP:
            continue
        pod = yaml.safe_load(path.read_text())["pod"]
        if "name" in pod["metadata"]:
            pod["metadata"]["name"] = f"{name}"[:50]
        by_webhook, _ = create_pod(api_client, namespace, pod)
        by_cli, _ = create_pod(
            api_client,
            second_namespace,
            offline_inject(pod, injector.operator_namespace, tmp_path, capsys),
        )
        assert comparable(by_cli) == comparable(by_webhook), name
        checked += 1
    assert checked >= 12
