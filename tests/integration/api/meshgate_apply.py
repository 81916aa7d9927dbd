"""Server-side apply with strict field validation, as `kubectl apply --server-side` does it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from controller_kit import ApiError
from controller_kit import call as request
from kubernetes.client import ApiClient, ApiextensionsV1Api

from meshgate.api.generate import crd_files
from meshgate.api.v1alpha1 import BY_KIND
from meshgate.localcluster.waiting import wait_for

FIELD_MANAGER = "meshgate-api-tests"
REPO = Path(__file__).resolve().parents[3]
# The API server's refusal, under the name these tests use; `message` is its Status message.
Rejected = ApiError


def object_path(manifest: dict[str, Any], namespace: str) -> str:
    info = BY_KIND[manifest["kind"]]
    name = manifest["metadata"]["name"]
    return f"/apis/{info.group}/{info.version}/namespaces/{namespace}/{info.plural}/{name}"


STRICT_APPLY = [("fieldManager", FIELD_MANAGER), ("fieldValidation", "Strict"), ("force", "true")]


def apply(api_client: ApiClient, manifest: dict[str, Any], namespace: str) -> dict[str, Any]:
    """Server-side apply of one meshgate.io object with strict field validation."""
    body = {**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}}
    return request(
        api_client,
        "PATCH",
        object_path(manifest, namespace),
        body,
        STRICT_APPLY,
        "application/apply-patch+yaml",
    )


def get(api_client: ApiClient, manifest: dict[str, Any], namespace: str) -> dict[str, Any]:
    return request(api_client, "GET", object_path(manifest, namespace))


def install_crds(api_client: ApiClient) -> None:
    """Apply every generated CRD and wait until the server serves them all."""
    ext = ApiextensionsV1Api(api_client)
    for text in crd_files().values():
        crd = yaml.safe_load(text)
        request(
            api_client,
            "PATCH",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}",
            crd,
            STRICT_APPLY,
            "application/apply-patch+yaml",
        )

    def established() -> bool:
        for text in crd_files().values():
            name = yaml.safe_load(text)["metadata"]["name"]
            status = ext.read_custom_resource_definition(name).status
            conditions = (status.conditions if status else None) or []
            if not any(c.type == "Established" and c.status == "True" for c in conditions):
                return False
        return True

    wait_for(established, timeout=60, what="meshgate.io CRDs to be Established")


GATEWAY_API_CRDS = REPO / "charts" / "meshgate" / "files" / "gateway-api-crds"


def install_gateway_api_crds(api_client: ApiClient) -> None:
    """The chart's copy of the Gateway API CRDs, applied and Established."""
    ext = ApiextensionsV1Api(api_client)
    names = []
    for path in sorted(GATEWAY_API_CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        names.append(crd["metadata"]["name"])
        request(
            api_client,
            "PATCH",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{names[-1]}",
            crd,
            STRICT_APPLY,
            "application/apply-patch+yaml",
        )

    def established() -> bool:
        for name in names:
            status = ext.read_custom_resource_definition(name).status
            conditions = (status.conditions if status else None) or []
            if not any(c.type == "Established" and c.status == "True" for c in conditions):
                return False
        return True

    wait_for(established, timeout=60, what="Gateway API CRDs to be Established")
