"""Bring generated objects to the desired set: apply what changed, delete what is no longer wanted.

A write is skipped when the object's content hash equals the last one applied and the live object
still carries it; `force` (the periodic resync) applies everything anyway, which server-side apply
turns into a no-op when nothing drifted. Objects of a Gateway whose spec is invalid right now are
never deleted: the last good config stays in place. One object that cannot be written (its
namespace is being deleted: 403, or already gone: 404) is that owner's error, never the end of the
whole pass: every other Gateway and namespace is still brought up to date.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from meshgate.ownership import GATEWAY_LABEL, HASH_ANNOTATION

from .rest import BY_KIND, KubeError, NotFound, Rest

Key = tuple[str, str, str]


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj["metadata"]
    return (obj["kind"], meta.get("namespace", ""), meta["name"])


def content_hash(obj: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class OutputsResult:
    applied: list[Key] = field(default_factory=list)
    unchanged: int = 0
    deleted: list[Key] = field(default_factory=list)
    # gateway key (`ns/name`) or mesh namespace -> what failed
    errors: dict[str, str] = field(default_factory=dict)


def _version(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))


def owner_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    gw = (meta.get("labels") or {}).get(GATEWAY_LABEL)
    return f"{meta.get('namespace', '')}/{gw}" if gw else str(meta.get("namespace", ""))


def sync_outputs(
    rest: Rest,
    desired: list[dict[str, Any]],
    live: dict[Key, dict[str, Any]],
    retained: frozenset[str],
    cache: dict[Key, str],
    *,
    force: bool,
    on_written: Callable[[dict[str, Any]], None] | None = None,
    on_deleted: Callable[[Key], None] | None = None,
) -> OutputsResult:
    """`on_written` sees the server's answer to every apply, `on_deleted` every deletion."""
    result = OutputsResult()
    wanted: set[Key] = set()
    for obj in desired:
        key = key_of(obj)
        wanted.add(key)
        # An object handed again as it was (its output kept) carries the hash given it then.
        digest = (obj["metadata"].get("annotations") or {}).get(HASH_ANNOTATION)
        if digest is None:
            digest = content_hash(obj)
            obj["metadata"].setdefault("annotations", {})[HASH_ANNOTATION] = digest
        current = live.get(key)
        live_hash = ((current or {}).get("metadata") or {}).get("annotations", {}) or {}
        if (
            not force
            and current is not None
            and cache.get(key) == digest
            and live_hash.get(HASH_ANNOTATION) == digest
        ):
            result.unchanged += 1
            continue
        try:
            written = rest.apply(obj)
        except KubeError as exc:
            result.errors[owner_of(obj)] = f"applying {key[0]} {key[2]}: {exc.status} {exc.reason}"
            cache.pop(key, None)
            continue
        except NotFound:
            result.errors[owner_of(obj)] = f"applying {key[0]} {key[2]}: 404 namespace not found"
            cache.pop(key, None)
            continue
        cache[key] = digest
        if on_written is not None and written:
            on_written(written)
        # A resync re-applies everything; the server turns an unchanged apply into a no-op
        # that keeps the resourceVersion, and only real writes are reported.
        if current is not None and _version(written) == _version(current):
            result.unchanged += 1
        else:
            result.applied.append(key)
    for key, obj in sorted(live.items()):
        if key in wanted or owner_of(obj) in retained:
            continue
        try:
            rest.delete(BY_KIND[key[0]], key[1], key[2])
        except KubeError as exc:
            result.errors[owner_of(obj)] = f"deleting {key[0]} {key[2]}: {exc.status} {exc.reason}"
            continue
        cache.pop(key, None)
        if on_deleted is not None:
            on_deleted(key)
        result.deleted.append(key)
    return result
