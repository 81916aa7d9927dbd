"""Every file in examples/ is accepted by the real API server under strict field validation, and
`kubectl get meshgate` lists what was applied, with printer columns read from status."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient
from meshgate_apply import REPO, object_path, request

EXAMPLES = REPO / "examples"
FILES = sorted(EXAMPLES.rglob("*.yaml"))


def _kubectl() -> str:
    pinned = Path(os.environ.get("MESHGATE_TESTBINS", "/nonexistent")) / "kubectl"
    found = str(pinned) if pinned.is_file() else shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl is not installed")
    return found


def _run(kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_kubectl(), "--kubeconfig", kubeconfig, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _meshgate_docs() -> list[dict[str, Any]]:
    return [
        doc
        for path in FILES
        for doc in yaml.safe_load_all(path.read_text())
        if doc and str(doc["apiVersion"]).startswith("meshgate.io/")
    ]


def test_examples_exist_for_every_story() -> None:
    stories = {path.parent.name for path in FILES}
    assert {"quickstart", "canary", "istio-seed", "strict-mtls", "api-keys-rate-limit"} <= stories


def test_every_example_file_is_accepted_and_kubectl_get_meshgate_lists_them(
    kubeconfig: str, meshgate_crds: None, namespace: str
) -> None:
    for path in FILES:
        applied = _run(
            kubeconfig, "apply", "--server-side", "--validate=strict",
            "--field-manager=meshgate-examples", "-n", namespace, "-f", str(path),
        )  # fmt: skip
        assert applied.returncode == 0, f"{path.relative_to(REPO)}: {applied.stderr}"

    listed = _run(kubeconfig, "get", "meshgate", "-A", "-o", "name")
    assert listed.returncode == 0, listed.stderr
    names = set(listed.stdout.split())
    for doc in _meshgate_docs():
        plural_group = f"{doc['kind'].lower()}.meshgate.io"
        assert f"{plural_group}/{doc['metadata']['name']}" in names


def test_printer_columns_show_what_the_operator_writes_to_status(
    api_client: ApiClient, kubeconfig: str, meshgate_crds: None, namespace: str
) -> None:
    route = yaml.safe_load((EXAMPLES / "quickstart" / "route.yaml").read_text())
    applied = _run(
        kubeconfig, "apply", "--server-side", "--validate=strict", "-n", namespace,
        "-f", str(EXAMPLES / "quickstart" / "route.yaml"),
    )  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    condition = {"lastTransitionTime": "2025-01-01T00:00:00Z", "observedGeneration": 1}
    status = {
        "status": {
            "observedGeneration": 1,
            "conditions": [
                {**condition, "type": "Accepted", "status": "True", "reason": "Accepted",
                 "message": "attached to Gateway quickstart"},
                {**condition, "type": "ResolvedRefs", "status": "False",
                 "reason": "BackendNotFound", "message": "Service echo not found; create it"},
            ],
            "summary": {"hosts": "*", "parents": "1/1", "backends": "0/1",
                        "reason": "BackendNotFound", "message": "Service echo not found"},
        }
    }  # fmt: skip
    request(
        api_client,
        "PATCH",
        object_path(route, namespace) + "/status",
        status,
        content_type="application/merge-patch+json",
    )

    table = _run(kubeconfig, "get", "mrt", "-n", namespace, "-o", "wide")
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()[:2]
    assert header.split()[:8] == [
        "NAME", "HOSTS", "PARENTS", "BACKENDS", "ACCEPTED", "RESOLVED", "REASON", "AGE",
    ]  # fmt: skip
    assert row.split()[:7] == [
        "quickstart-echo",
        "*",
        "1/1",
        "0/1",
        "True",
        "False",
        "BackendNotFound",
    ]
    assert "Service echo not found" in row
