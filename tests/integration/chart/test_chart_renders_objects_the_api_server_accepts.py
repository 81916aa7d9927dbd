"""`helm template` output passes the real API server's server-side dry run, CRDs on and off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from chartkit import run
from kubernetes import client, dynamic
from kubernetes.client import ApiClient

NAMESPACE = "meshgate-system"


def _ensure_namespace(api_client: ApiClient, name: str) -> None:
    core = client.CoreV1Api(api_client)
    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    except client.ApiException as exc:
        if exc.status != 409:
            raise


def _dry_run(api_client: ApiClient, docs: list[dict[str, Any]]) -> list[str]:
    dyn = dynamic.DynamicClient(api_client)
    accepted = []
    for doc in docs:
        resource = dyn.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
        ns = doc["metadata"].get("namespace") if resource.namespaced else None
        # Server-side apply, dry run: valid whether or not another test already made the object.
        dyn.server_side_apply(
            resource,
            body=doc,
            namespace=ns,
            field_manager="meshgate-chart-test",
            force_conflicts=True,
            dry_run="All",
        )
        accepted.append(f"{doc['kind']}/{doc['metadata']['name']}")
    return accepted


def _server_version(api_client: ApiClient) -> str:
    return str(client.VersionApi(api_client).get_code().git_version)


def test_chart_refuses_a_cluster_without_native_sidecars(helm: str, chart_dir: Path) -> None:
    import subprocess

    result = subprocess.run(
        [helm, "template", "m", str(chart_dir), "--kube-version", "v1.28.9"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    assert "chart requires kubeVersion: >=1.29.0-0" in result.stderr


@pytest.mark.parametrize("crds", [True, False], ids=["crds-enabled", "crds-disabled"])
def test_rendered_chart_passes_server_side_dry_run(
    helm: str, chart_dir: Path, api_client: ApiClient, crds: bool
) -> None:
    _ensure_namespace(api_client, NAMESPACE)
    rendered = run(
        [
            helm, "template", "meshgate", str(chart_dir), "-n", NAMESPACE,
            "--kube-version", _server_version(api_client),
            "--set", f"crds.enabled={str(crds).lower()}",
            "--set", "operator.watchNamespaces={team-a}",
            "--set", "metrics.dashboard.enabled=true",
        ]
    )  # fmt: skip
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    crd_docs = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    if crds:
        assert {d["spec"]["group"] for d in crd_docs} == {"meshgate.io", "kopf.dev"}
        assert all(
            d["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep" for d in crd_docs
        )
    else:
        assert crd_docs == []
    _ensure_namespace(api_client, "team-a")

    accepted = _dry_run(api_client, docs)

    assert "Deployment/meshgate" in accepted
    assert "Service/meshgate-webhook" in accepted
    assert len(accepted) == len(docs)
