"""The compiler's snapshot from manifest files alone: what `analyze -f` and `catalog -f` compile.

The same `snapshot_from_bodies` and `compile_snapshot` the operator runs, so the files and the
cluster can never be judged by two different rule books. What the files cannot hold is absent:
no Pods run, no EndpointSlices exist, and a namespace the files use but do not define is taken as
existing, unlabelled (not meshed). Pure: documents in, snapshot out; Secret values are reduced to
what the compiler may see, exactly as the operator reduces them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, cast

from meshgate.api.v1alpha1.registry import BY_KIND
from meshgate.compile import MeshSettings, Snapshot, snapshot_from_bodies
from meshgate.compile.bodies import NamespaceBody, ObjectBody, SecretBody, ServiceBody
from meshgate.compile.edge import edge_secret_of, edge_secret_refs
from meshgate.compile.snapshot import EdgeSecret

from .manifests import Document


def snapshot_of(docs: Sequence[Document], settings: MeshSettings) -> Snapshot:
    custom: dict[str, list[ObjectBody]] = {}
    services: list[ServiceBody] = []
    secrets: list[dict[str, Any]] = []
    namespaces: dict[str, dict[str, Any]] = {}
    for doc in docs:
        if doc.kind in BY_KIND and _is_meshgate(doc.body):
            custom.setdefault(doc.kind, []).append(cast(ObjectBody, doc.body))
        elif doc.kind == "Service":
            services.append(cast(ServiceBody, doc.body))
        elif doc.kind == "Secret":
            secrets.append(doc.body)
        elif doc.kind == "Namespace":
            namespaces[doc.name] = doc.body
    for doc in docs:
        if doc.namespace and doc.namespace not in namespaces:
            namespaces[doc.namespace] = {"metadata": {"name": doc.namespace}}
    snap = snapshot_from_bodies(
        settings=settings,
        custom=custom,
        services=services,
        secrets=[cast(SecretBody, _keys_only(s)) for s in secrets],
        namespaces=[cast(NamespaceBody, n) for n in namespaces.values()],
    )
    return dataclasses.replace(snap, edge_secrets=_edge_secrets(snap, secrets))


def _is_meshgate(body: dict[str, Any]) -> bool:
    return str(body.get("apiVersion") or "").startswith("meshgate.io/")


def _keys_only(body: dict[str, Any]) -> dict[str, Any]:
    """A Secret as the operator's store keeps it: key names, values dropped (stringData too)."""
    keys = {**(body.get("data") or {}), **(body.get("stringData") or {})}
    return {
        "metadata": body.get("metadata") or {},
        "type": body.get("type") or "Opaque",
        "data": dict.fromkeys(keys, ""),
    }


def _edge_secrets(
    snap: Snapshot, secrets: list[dict[str, Any]]
) -> dict[tuple[str, str], EdgeSecret]:
    uses = edge_secret_refs(snap.edge_authentications, snap.rate_limit_policies)
    by_key = {
        (
            str((s.get("metadata") or {}).get("namespace") or ""),
            str((s.get("metadata") or {}).get("name") or ""),
        ): s
        for s in secrets
    }
    return {key: edge_secret_of(by_key[key], use) for key, use in uses.items() if key in by_key}
