"""The operator's picture of the cluster between full listings, fed by watch events and lists.

A reconcile reads this instead of listing everything on every change. It must never be the only
source of truth: every forced reconcile (start-up, periodic resync) lists the API server again and
`replace`s what is here, so a missed event or a watch restart can only be wrong until then.

Ordering is decided by `metadata.resourceVersion`, compared as integers (the API server's are
etcd revisions): an event older than what is stored, or than a deletion already seen, or than
the last listing of an object the listing did not contain, is ignored. So events applied in any
order, before or after a listing, converge to what the server holds. A version that is not an
integer is treated as newer than anything: such an event always applies.

Thread-safe: watch handlers write from the event loop while the reconcile reads from its thread.
Bodies are stored slimmed (no managedFields or last-applied annotation, no Secret values, no
ConfigMap data, Pods reduced to metadata) and never mutated afterwards; callers must not mutate
what they read either.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from sys import intern
from typing import Any, cast

from meshgate.compile.ingest import PEM_MARK, TLS_KEYS, looks_pem

Key = tuple[str, str]  # (namespace, name)

# Client-side `kubectl apply` keeps a copy of the applied manifest here; nothing here reads it.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# What each kind keeps of `metadata` when only metadata matters (Pods).
_META_FIELDS = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp")


def version_of(body: Mapping[str, Any]) -> int | None:
    return _int((body.get("metadata") or {}).get("resourceVersion"))


def _newer(candidate: int | None, than: int | None) -> bool:
    """For events: an unknown version always wins; the periodic listing repairs a wrong guess."""
    return candidate is None or than is None or candidate > than


def key_of(body: Mapping[str, Any]) -> Key:
    meta = body.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


# Strings up to this long are shared between all the stored bodies that hold them.
SHARED_STRING = 64


def compact(value: Any) -> Any:
    """A copy of a decoded JSON value in which every key, and every string value up to
    `SHARED_STRING` long, is one shared object (`sys.intern`) for all the bodies holding it.

    Every body decoded from the API server brings its own copies: the same condition types,
    reasons and messages, group and kind names, hostnames and times in each of 1,000 Routes
    (keys are shared within one decoded page only). Shared, a stored Route takes half the
    memory, and what is parsed from it shares them too."""
    if type(value) is dict:
        return {intern(k) if type(k) is str else k: compact(v) for k, v in value.items()}
    if type(value) is list:
        return [compact(v) for v in value]
    if type(value) is str and len(value) <= SHARED_STRING:
        return intern(value)
    return value


def slim(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """What the store keeps of a body: what a reconcile reads, and no key material, compacted."""
    meta = dict(body.get("metadata") or {})
    meta.pop("managedFields", None)
    if LAST_APPLIED in (meta.get("annotations") or {}):
        meta["annotations"] = {k: v for k, v in meta["annotations"].items() if k != LAST_APPLIED}
    if kind == "Pod":
        kept = {k: meta[k] for k in _META_FIELDS if k in meta}
        kept["labels"] = dict(meta.get("labels") or {})
        return cast(dict[str, Any], compact({"kind": "Pod", "metadata": kept}))
    out = dict(body)
    out["metadata"] = meta
    if kind == "Secret":
        # Key names only; a TLS key keeps a mark saying whether it holds PEM (never the value).
        out["data"] = {
            k: PEM_MARK if k in TLS_KEYS and looks_pem(str(v or "")) else ""
            for k, v in (body.get("data") or {}).items()
        }
        out.pop("stringData", None)
    elif kind == "ConfigMap":
        # Writes are decided by the applied-hash annotation; the config text is not needed here.
        out["data"] = dict.fromkeys(body.get("data") or {}, "")
        if "binaryData" in body:
            out["binaryData"] = dict.fromkeys(body["binaryData"] or {}, "")
    return cast(dict[str, Any], compact(out))


@dataclass
class _Kind:
    items: dict[Key, dict[str, Any]] = field(default_factory=dict)
    versions: dict[Key, int | None] = field(default_factory=dict)
    # Deletions seen since the last listing: a late event for the same object must not revive it.
    tombstones: dict[Key, int | None] = field(default_factory=dict)
    # scope ("" = every namespace, else one namespace) -> resourceVersion of its last listing
    listed: dict[str, int | None] = field(default_factory=dict)

    def floor(self, namespace: str) -> int | None:
        if namespace in self.listed:
            return self.listed[namespace]
        return self.listed.get("", None)

    def covers(self, namespace: str) -> bool:
        return namespace in self.listed or "" in self.listed


class Store:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kinds: dict[str, _Kind] = {}
        self._generation = 0  # bumped on every change, so readers can tell nothing moved

    def _kind(self, kind: str) -> _Kind:
        found = self._kinds.get(kind)  # not setdefault: that builds a `_Kind` on every call
        if found is None:
            found = self._kinds[kind] = _Kind()
        return found

    @property
    def generation(self) -> int:
        return self._generation

    def observe(self, kind: str, event_type: str | None, body: Mapping[str, Any]) -> bool:
        """Apply one watch event (or a write's response); True when the store changed."""
        key = key_of(body)
        version = version_of(body)
        with self._lock:
            k = self._kind(kind)
            present = key in k.items
            if event_type == "DELETED":
                if present and _gt(k.versions[key], version):
                    return False  # a newer object of that name is already here
                k.tombstones[key] = _latest(k.tombstones.get(key), version)
                if not present:
                    return False
                del k.items[key], k.versions[key]
                self._generation += 1
                return True
            if present and not _newer(version, k.versions[key]):
                return False
            if key in k.tombstones and not _newer(version, k.tombstones[key]):
                return False
            if not present and k.covers(key[0]) and not _newer(version, k.floor(key[0])):
                return False  # older than a listing that did not contain it: gone since
            k.items[key] = slim(kind, body)
            k.versions[key] = version
            k.tombstones.pop(key, None)
            self._generation += 1
            return True

    def record(self, kind: str, body: Mapping[str, Any]) -> None:
        """The server's answer to the operator's own write: newer than any event before it."""
        self.observe(kind, "MODIFIED", body)

    def forget(self, kind: str, namespace: str, name: str) -> None:
        """Drop an object the operator itself just deleted."""
        with self._lock:
            k = self._kind(kind)
            if k.items.pop((namespace, name), None) is not None:
                del k.versions[(namespace, name)]
                self._generation += 1

    def kept_or_slim(self, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """What the store would keep of a listed body, made as its page arrives: the object held
        already when it is at the same resourceVersion (a resync then copies nothing that did
        not change), else the body slimmed. For `replace(..., slimmed=True)`."""
        key, version = key_of(body), version_of(body)
        if version is not None:
            with self._lock:
                k = self._kinds.get(kind)
                if k is not None and k.versions.get(key) == version and key in k.items:
                    return k.items[key]
        return slim(kind, body)

    def replace(
        self,
        kind: str,
        namespace: str,
        items: Iterable[Mapping[str, Any]],
        list_version: str,
        *,
        slimmed: bool = False,
    ) -> None:
        """Take a listing of `kind` in `namespace` ("" = every namespace) at `list_version` as
        the truth, keeping only what watch events brought that is newer than the listing.
        `slimmed`: the items are what `kept_or_slim` made of them. An object listed at the
        version already held keeps the held body (one copy, and the same identity the
        parse cache and the compiler's memos know)."""
        floor = _int(list_version)

        def in_scope(key: Key) -> bool:
            return not namespace or key[0] == namespace

        with self._lock:
            k = self._kind(kind)
            fresh = {key: b for key, b in k.items.items() if not in_scope(key)}
            versions = {key: k.versions[key] for key in fresh}
            for body in items:
                key, version = key_of(body), version_of(body)
                if key in k.tombstones and _gt(k.tombstones[key], version):
                    continue  # deleted after the listing was taken
                held = k.items.get(key)
                if held is not None and (
                    _gt(k.versions[key], version)
                    or (version is not None and k.versions[key] == version)
                ):
                    fresh[key], versions[key] = held, k.versions[key]
                else:
                    fresh[key] = cast(dict[str, Any], body) if slimmed else slim(kind, body)
                    versions[key] = version
            for key, body in k.items.items():
                if key not in fresh and in_scope(key) and _gt(k.versions[key], floor):
                    fresh[key], versions[key] = body, k.versions[key]  # created after the list
            k.items, k.versions = fresh, versions
            k.tombstones = {
                key: v for key, v in k.tombstones.items() if not in_scope(key) or _gt(v, floor)
            }
            k.listed[namespace] = floor
            self._generation += 1

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self._kind(kind).items.get((namespace, name))

    def items(self, kind: str) -> list[dict[str, Any]]:
        """Every stored object of `kind`, in no particular order (a copy of the list)."""
        with self._lock:
            return list(self._kind(kind).items.values())

    def listed(self, kind: str) -> bool:
        with self._lock:
            return bool(self._kind(kind).listed)


def _int(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _gt(a: int | None, b: int | None) -> bool:
    """Strictly newer, when both versions are known."""
    return a is not None and b is not None and a > b


def _latest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)
