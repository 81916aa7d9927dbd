"""Offline injection for GitOps repos: the sidecar patch applied to every pod template in a
stream of Kubernetes manifests, and its reverse.

Uses the same `patch.inject` as the webhook, with the namespace taken as opted in (running the
command is the opt-in); a Pod's own `meshgate.io/inject: "false"` still wins. Pure over parsed
documents; YAML text in and out lives at the edges. It must never talk to a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from . import jsonpatch_ops, names
from .patch import inject
from .policy import NamespaceInfo
from .settings import InjectSettings
from .uninject import uninject

Doc = dict[str, Any]

# Where each workload kind keeps its pod template; a Pod is its own template.
TEMPLATE_PATHS: Mapping[str, tuple[str, ...]] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


@dataclass
class Result:
    documents: list[Any]
    warnings: list[str] = field(default_factory=list)


def _describe(doc: Mapping[str, Any]) -> str:
    name = (doc.get("metadata") or {}).get("name", "<unnamed>")
    return f"{doc.get('kind')}/{name}"


def _map_templates(
    doc: Any, fn: Callable[[Doc, Doc], Doc], warnings: list[str], prefix: str = ""
) -> Any:
    """`doc` with `fn(template, owner)` applied to each pod template, `List` items included."""
    if not isinstance(doc, dict):
        return doc
    kind = doc.get("kind")
    if kind == "List" and isinstance(doc.get("items"), list):
        return {**doc, "items": [_map_templates(i, fn, warnings, prefix) for i in doc["items"]]}
    path = TEMPLATE_PATHS.get(str(kind))
    if path is None:
        return doc
    if not path:
        return fn(doc, doc)
    parent: Any = doc
    for key in path[:-1]:
        parent = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(parent, dict) or not isinstance(parent.get(path[-1]), dict):
        warnings.append(f"{_describe(doc)}: no pod template found, left unchanged")
        return doc

    # Rebuild only along the template's path so the input document stays untouched.
    def rebuilt(node: Doc, rest: tuple[str, ...]) -> Doc:
        if not rest:
            return fn(node, doc)
        return {**node, rest[0]: rebuilt(node[rest[0]], rest[1:])}

    return rebuilt(doc, path)


def inject_documents(docs: Iterable[Any], settings: InjectSettings) -> Result:
    warnings: list[str] = []

    def one(template: Doc, owner: Doc) -> Doc:
        ns = (owner.get("metadata") or {}).get("namespace") or "default"
        namespace = NamespaceInfo(ns, {names.INJECT_KEY: names.NAMESPACE_ENABLED})
        result = inject(template, namespace, settings)
        warnings.extend(f"{_describe(owner)}: {w}" for w in result.warnings)
        return jsonpatch_ops.apply(template, result.ops)

    return Result([_map_templates(d, one, warnings) for d in docs], warnings)


def uninject_documents(docs: Iterable[Any]) -> Result:
    warnings: list[str] = []
    return Result([_map_templates(d, lambda t, _o: uninject(t), warnings) for d in docs], warnings)


def load_all(text: str) -> list[Any]:
    """Every YAML document in `text`, empty ones (a stray `---`) dropped."""
    return [d for d in yaml.safe_load_all(text) if d is not None]


def dump_all(docs: Iterable[Any]) -> str:
    return yaml.safe_dump_all(list(docs), sort_keys=False, default_flow_style=False)
