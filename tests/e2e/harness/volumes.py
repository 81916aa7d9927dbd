"""What each Pod volume holds, as files: ConfigMap, Secret, downward API, projected, emptyDir.

Pure: the caller supplies the Pod and a lookup of the ConfigMaps/Secrets/tokens it may need; the
result is `{relative path: bytes}` per volume, or a reason the volume cannot be made yet (a
missing non-optional ConfigMap keeps the Pod waiting, as on a node). This module must never read
the API server or the disk.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Body = dict[str, Any]
# (kind, namespace, name) -> object or None; kind is "configmap", "secret" or "token"
Lookup = Callable[[str, str, str], Body | None]


@dataclass(frozen=True)
class Missing:
    """A volume's source does not exist (yet)."""

    reason: str


def _object_files(obj: Body | None, items: list[Body] | None, decode: bool) -> dict[str, bytes]:
    data: dict[str, bytes] = {}
    if obj is not None:
        for key, value in (obj.get("data") or {}).items():
            data[key] = base64.b64decode(value) if decode else str(value).encode()
        if not decode:
            for key, value in (obj.get("binaryData") or {}).items():
                data[key] = base64.b64decode(value)
    if not items:
        return data
    return {item["path"]: data[item["key"]] for item in items if item["key"] in data}


def field_value(pod: Body, field_path: str) -> str:
    """The downward API's fieldRef values a Pod can ask for."""
    meta = pod.get("metadata", {})
    simple: Mapping[str, Any] = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": pod.get("spec", {}).get("nodeName"),
        "spec.serviceAccountName": pod.get("spec", {}).get("serviceAccountName"),
        "status.podIP": pod.get("status", {}).get("podIP"),
        "status.hostIP": pod.get("status", {}).get("hostIP"),
    }
    if field_path in simple:
        return str(simple[field_path] or "")
    for prefix, source in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        values = meta.get(source) or {}
        if field_path == prefix:
            return "\n".join(f'{k}="{v}"' for k, v in sorted(values.items()))
        if field_path.startswith(prefix + "['") and field_path.endswith("']"):
            return str(values.get(field_path[len(prefix) + 2 : -2], ""))
    return ""


def _downward_files(pod: Body, items: list[Body]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for item in items:
        if "fieldRef" in item:
            files[item["path"]] = field_value(pod, item["fieldRef"]["fieldPath"]).encode()
        elif "resourceFieldRef" in item:
            files[item["path"]] = b"0"  # no cgroups here: limits are not enforced locally
    return files


def _source_files(pod: Body, source: Body, lookup: Lookup, ns: str) -> dict[str, bytes] | Missing:
    if "configMap" in source:
        ref = source["configMap"]
        obj = lookup("configmap", ns, ref["name"])
        if obj is None and not ref.get("optional"):
            return Missing(f'configmap "{ref["name"]}" not found')
        return _object_files(obj, ref.get("items"), decode=False)
    if "secret" in source:
        ref = source["secret"]
        name = ref.get("secretName") or ref.get("name", "")
        obj = lookup("secret", ns, name)
        if obj is None and not ref.get("optional"):
            return Missing(f'secret "{name}" not found')
        return _object_files(obj, ref.get("items"), decode=True)
    if "downwardAPI" in source:
        return _downward_files(pod, source["downwardAPI"].get("items") or [])
    if "serviceAccountToken" in source:
        token = lookup("token", ns, pod["spec"].get("serviceAccountName", "default"))
        if token is None:
            return Missing("service account token not issued yet")
        return {source["serviceAccountToken"]["path"]: token["token"].encode()}
    return {}


def volume_files(pod: Body, volume: Body, lookup: Lookup) -> dict[str, bytes] | Missing | None:
    """Files of one volume; None for a plain directory (emptyDir, and kinds run locally as one)."""
    ns = pod["metadata"]["namespace"]
    if "projected" in volume:
        merged: dict[str, bytes] = {}
        for source in volume["projected"].get("sources") or []:
            files = _source_files(pod, source, lookup, ns)
            if isinstance(files, Missing):
                return files
            merged.update(files)
        return merged
    for kind in ("configMap", "secret", "downwardAPI"):
        if kind in volume:
            return _source_files(pod, {kind: volume[kind]}, lookup, ns)
    return None


def needed_objects(pod: Body) -> set[tuple[str, str]]:
    """(kind, name) of every ConfigMap/Secret the Pod's volumes and env refer to."""
    wanted: set[tuple[str, str]] = set()
    sources: list[Body] = []
    for volume in pod["spec"].get("volumes") or []:
        sources.append(volume)
        sources.extend((volume.get("projected") or {}).get("sources") or [])
    for source in sources:
        if "configMap" in source:
            wanted.add(("configmap", source["configMap"]["name"]))
        if "secret" in source:
            ref = source["secret"]
            wanted.add(("secret", ref.get("secretName") or ref.get("name", "")))
    spec = pod["spec"]
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        for env in container.get("env") or []:
            ref = env.get("valueFrom") or {}
            if "configMapKeyRef" in ref:
                wanted.add(("configmap", ref["configMapKeyRef"]["name"]))
            if "secretKeyRef" in ref:
                wanted.add(("secret", ref["secretKeyRef"]["name"]))
        for env_from in container.get("envFrom") or []:
            if "configMapRef" in env_from:
                wanted.add(("configmap", env_from["configMapRef"]["name"]))
            if "secretRef" in env_from:
                wanted.add(("secret", env_from["secretRef"]["name"]))
    return wanted
