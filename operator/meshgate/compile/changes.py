"""What moved between two snapshots, by collection and key. Pure.

Objects are compared with `same` (identity first: the I/O layer's parse cache hands back the very
object while its resourceVersion holds), so finding the changes in an unchanged 10,000-Route
snapshot costs one dictionary pass per collection.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import is_not
from typing import Any

from .same import same
from .snapshot import Snapshot

Key = tuple[str, str]

# Snapshot fields holding objects with `meta`, compared by (namespace, name).
COLLECTIONS = (
    "gateways",
    "routes",
    "destination_rules",
    "retry_policies",
    "peer_authentications",
    "authorization_policies",
    "edge_authentications",
    "rate_limit_policies",
    "services",
    "endpoint_slices",
    "pods",
    "secrets",
)


@dataclass(frozen=True)
class Changes:
    """Changed keys per collection; `everything` when there is no earlier snapshot."""

    everything: bool = False
    # collection -> key -> (old object or None, new object or None)
    moved: dict[str, dict[Key, tuple[Any, Any]]] = field(default_factory=dict)
    namespaces: bool = False  # any Namespace added, removed or relabelled
    settings: bool = False
    gateway_runtime: frozenset[str] = frozenset()  # Gateway keys whose runtime moved
    edge_secrets: bool = False

    def of(self, collection: str) -> dict[Key, tuple[Any, Any]]:
        return self.moved.get(collection, {})

    def any(self, *collections: str) -> bool:
        return self.everything or any(self.moved.get(c) for c in collections)

    @property
    def none(self) -> bool:
        return not (
            self.everything
            or any(self.moved.values())
            or self.namespaces
            or self.settings
            or self.gateway_runtime
            or self.edge_secrets
        )


def changes(old: Snapshot | None, new: Snapshot) -> Changes:
    if old is None:
        return Changes(everything=True)
    moved = {}
    for name in COLLECTIONS:
        before, after = getattr(old, name), getattr(new, name)
        if before is after:
            continue
        diff = _diff(before, after)
        if diff:
            moved[name] = diff
    runtime_keys = set(old.gateway_runtime) | set(new.gateway_runtime)
    return Changes(
        moved=moved,
        namespaces=old.namespaces != new.namespaces,
        settings=old.settings != new.settings,
        gateway_runtime=frozenset(
            k for k in runtime_keys if old.gateway_runtime.get(k) != new.gateway_runtime.get(k)
        ),
        edge_secrets=old.edge_secrets != new.edge_secrets,
    )


def _diff(before: Sequence[Any], after: Sequence[Any]) -> dict[Key, tuple[Any, Any]]:
    if len(before) == len(after):
        # Most often one object replaced in place (snapshots are sorted by key): pair by
        # position, comparing keys only where the objects are not the very same.
        out: dict[Key, tuple[Any, Any]] = {}
        for i in [i for i, moved in enumerate(map(is_not, before, after)) if moved]:
            old, new = before[i], after[i]
            key = (new.meta.namespace, new.meta.name)
            if (old.meta.namespace, old.meta.name) != key or key in out:
                return _diff_by_key(before, after)
            if not same(old, new):
                out[key] = (old, new)
        return out
    return _diff_by_key(before, after)


def _diff_by_key(before: Iterable[Any], after: Iterable[Any]) -> dict[Key, tuple[Any, Any]]:
    # Lists per key: a snapshot built from files (not from an API server) may name one object
    # twice; the copies are paired in order.
    old: dict[Key, list[Any]] = {}
    for o in before:
        old.setdefault((o.meta.namespace, o.meta.name), []).append(o)
    out: dict[Key, tuple[Any, Any]] = {}
    for o in after:
        key = (o.meta.namespace, o.meta.name)
        copies = old.get(key)
        prev = copies.pop(0) if copies else None
        if prev is None or not same(prev, o):
            out[key] = (prev, o)
    for key, copies in old.items():
        for prev in copies:
            out.setdefault(key, (prev, None))
    return out
