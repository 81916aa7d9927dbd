"""Shared shape of generated objects: labels that mark them as meshgate's, owner references.

Never imports kopf or the Kubernetes client: objects are plain dicts the I/O layer applies.
"""

from __future__ import annotations

from typing import Any

from meshgate.compile.snapshot import Meta
from meshgate.ownership import GATEWAY_LABEL as GATEWAY_LABEL  # re-exported
from meshgate.ownership import MANAGED_BY as MANAGED_BY  # re-exported

KubeObject = dict[str, Any]

VERSION_ANNOTATION = "meshgate.io/config-version"


def labels(**extra: str) -> dict[str, str]:
    return {**MANAGED_BY, **extra}


def gateway_owner(gateway: Meta, api_version: str = "meshgate.io/v1alpha1") -> list[dict[str, Any]]:
    """Owned by the Gateway (meshgate.io's or the Gateway API's), so the garbage collector
    removes these objects with it."""
    return [
        {
            "apiVersion": api_version,
            "kind": "Gateway",
            "name": gateway.name,
            "uid": gateway.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def config_map(
    name: str,
    namespace: str,
    data: dict[str, str],
    version: str,
    object_labels: dict[str, str],
    owners: list[dict[str, Any]] | None,
    binary_data: dict[str, str] | None = None,
) -> KubeObject:
    """`binary_data` values are base64 already, as the API carries them."""
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": object_labels,
        "annotations": {VERSION_ANNOTATION: version},
    }
    if owners:
        metadata["ownerReferences"] = owners
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}
    if binary_data:
        obj["binaryData"] = binary_data
    return obj
