"""The injector's few calls to the API server: apply its webhook configuration, read and write
the Secret of its serving identity, read a namespace's labels, read the cluster's version.

The only module of `meshgate.inject` that calls the API server (through meshgate's one client,
`meshgate.kube.rest.Rest`); every call is blocking and is run by callers in a thread. It must
never decide anything about injection itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from meshgate.kube.rest import NAMESPACE, SECRET, Kind, KubeError, NotFound, Rest

MUTATING_WEBHOOK_CONFIGURATION = Kind(
    "admissionregistration.k8s.io",
    "v1",
    "mutatingwebhookconfigurations",
    "MutatingWebhookConfiguration",
    namespaced=False,
)
CLUSTER_ROLE = Kind("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False)


def apply_webhook_configuration(rest: Rest, body: dict[str, Any]) -> None:
    """Server-side apply: creates the object or repairs any drift from `body`."""
    rest.apply(body, kind=MUTATING_WEBHOOK_CONFIGURATION)


def cluster_role_uid(rest: Rest, name: str) -> str:
    role = rest.read(CLUSTER_ROLE, "", name)
    if role is None:
        raise KubeError(404, "NotFound", f"GET {CLUSTER_ROLE.path(None, name)}")
    return str(role["metadata"]["uid"])


def read_webhook_configuration(rest: Rest, name: str) -> dict[str, Any] | None:
    return rest.read(MUTATING_WEBHOOK_CONFIGURATION, "", name)


def delete_webhook_configuration(rest: Rest, name: str) -> None:
    rest.delete(MUTATING_WEBHOOK_CONFIGURATION, "", name)


def read_secret(rest: Rest, namespace: str, name: str) -> dict[str, Any] | None:
    """The Secret as the API server returns it (camelCase, data base64), or None if absent."""
    return rest.read(SECRET, namespace, name)


def create_secret(rest: Rest, body: Mapping[str, Any]) -> bool:
    """Create the Secret; False when one of that name exists already (another replica won)."""
    try:
        rest.create(SECRET, body["metadata"]["namespace"], dict(body))
    except KubeError as e:
        if e.status == 409:
            return False
        raise
    return True


def replace_secret_data(rest: Rest, body: Mapping[str, Any], resource_version: str) -> bool:
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
        rest.merge_patch(SECRET, meta["namespace"], meta["name"], patch)
    except NotFound:
        return False
    except KubeError as e:
        if e.status == 409:
            return False
        raise
    return True


def namespace_labels(rest: Rest, name: str, timeout: float) -> dict[str, str]:
    ns = rest.read(NAMESPACE, "", name, timeout=timeout)
    if ns is None:
        raise KubeError(404, "NotFound", f"GET {NAMESPACE.path(None, name)}")
    return dict((ns.get("metadata") or {}).get("labels") or {})


def kube_minor(rest: Rest) -> int:
    """The API server's minor version: "34" or "34+" (some distributions) gives 34."""
    minor = rest.server_version().get("minor")
    match = re.match(r"\d+", str(minor))
    if match is None:
        raise ValueError(f"unreadable Kubernetes minor version {minor!r}")
    return int(match.group())
