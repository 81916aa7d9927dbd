"""The injector's few calls to the API server: apply its webhook configuration, read and write
the Secret of its serving identity, read a namespace's labels, read the cluster's version.

The only module of `meshgate.inject` that uses the Kubernetes client; every call is blocking and
is run by callers in a thread. It must never decide anything about injection itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from kubernetes import client

from meshgate.ownership import FIELD_MANAGER


def apply_webhook_configuration(api: Any, body: dict[str, Any]) -> None:
    """Server-side apply: creates the object or repairs any drift from `body`."""
    client.AdmissionregistrationV1Api(api).patch_mutating_webhook_configuration(
        name=body["metadata"]["name"],
        body=json.loads(json.dumps(body)),
        field_manager=FIELD_MANAGER,
        force=True,
        _content_type="application/apply-patch+yaml",
    )


def cluster_role_uid(api: Any, name: str) -> str:
    resp: Any = client.RbacAuthorizationV1Api(api).read_cluster_role(name, _preload_content=False)
    return str(json.loads(resp.data)["metadata"]["uid"])


def read_webhook_configuration(api: Any, name: str) -> dict[str, Any] | None:
    try:
        resp: Any = client.AdmissionregistrationV1Api(api).read_mutating_webhook_configuration(
            name, _preload_content=False
        )
    except client.ApiException as e:
        if e.status == 404:
            return None
        raise
    body: dict[str, Any] = json.loads(resp.data)
    return body


def delete_webhook_configuration(api: Any, name: str) -> None:
    try:
        client.AdmissionregistrationV1Api(api).delete_mutating_webhook_configuration(name)
    except client.ApiException as e:
        if e.status != 404:
            raise


def read_secret(api: Any, namespace: str, name: str) -> dict[str, Any] | None:
    """The Secret as the API server returns it (camelCase, data base64), or None if absent."""
    try:
        resp: Any = client.CoreV1Api(api).read_namespaced_secret(
            name, namespace, _preload_content=False
        )
    except client.ApiException as e:
        if e.status == 404:
            return None
        raise
    body: dict[str, Any] = json.loads(resp.data)
    return body


def create_secret(api: Any, body: Mapping[str, Any]) -> bool:
    """Create the Secret; False when one of that name exists already (another replica won)."""
    meta = body["metadata"]
    try:
        client.CoreV1Api(api).create_namespaced_secret(
            meta["namespace"], json.loads(json.dumps(body)), field_manager=FIELD_MANAGER
        )
    except client.ApiException as e:
        if e.status == 409:
            return False
        raise
    return True


def replace_secret_data(api: Any, body: Mapping[str, Any], resource_version: str) -> bool:
    """Write `body`'s data, labels and annotations over the Secret if it is still at
    `resource_version`; False when someone wrote it since (or deleted it)."""
    meta = body["metadata"]
    patch = {
        "metadata": {
            "resourceVersion": resource_version,
            "labels": meta.get("labels", {}),
            "annotations": meta.get("annotations", {}),
        },
        "data": body["data"],
    }
    try:
        client.CoreV1Api(api).patch_namespaced_secret(
            meta["name"],
            meta["namespace"],
            patch,
            field_manager=FIELD_MANAGER,
            _content_type="application/merge-patch+json",
        )
    except client.ApiException as e:
        if e.status in (404, 409):
            return False
        raise
    return True


def namespace_labels(api: Any, name: str, timeout: float) -> dict[str, str]:
    ns = client.CoreV1Api(api).read_namespace(name, _request_timeout=timeout)
    return dict((ns.metadata.labels if ns.metadata else None) or {})


def kube_minor(api: Any) -> int:
    """The API server's minor version: "34" or "34+" (some distributions) gives 34."""
    info = client.VersionApi(api).get_code()
    match = re.match(r"\d+", str(info.minor))
    if match is None:
        raise ValueError(f"unreadable Kubernetes minor version {info.minor!r}")
    return int(match.group())
