"""The configs a replica serves, read from the generated ConfigMaps it watches.

Fed with watch events (`observe`) and full listings (`replace`); answers "what is the current
config of this target, and its version". A gateway config stored in parts
(`meshproxy.configparts`) is assembled here from its index and part ConfigMaps, so a proxy is
sent exactly the bytes it would read from its mounted files, and only once every part of the
index's version is there (until then the previous version stays current).

Pure (no I/O, no clock, no event loop); the server wraps it with waiting.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from meshgate.compile.paths import CONFIG_KEY, MESH_CONFIG_MAP, gateway_config_map
from meshgate.render.objects import GATEWAY_LABEL, VERSION_ANNOTATION
from meshproxy import configparts
from meshproxy.delivery.target import Target

Body = Mapping[str, Any]
Name = tuple[str, str]  # (namespace, ConfigMap name)


@dataclass(frozen=True)
class Entry:
    version: str
    body: bytes


def target_of(cm: Body) -> Target | None:
    """The target a config ConfigMap holds (the index, for a config in parts); None for others."""
    meta = cm.get("metadata") or {}
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    if name == MESH_CONFIG_MAP:
        return Target("mesh", namespace)
    gateway = (meta.get("labels") or {}).get(GATEWAY_LABEL)
    if gateway and name == gateway_config_map(gateway):
        return Target("gateway", namespace, str(gateway))
    return None


class ConfigBook:
    def __init__(self) -> None:
        self._objects: dict[Name, Body] = {}
        self._current: dict[Target, Entry] = {}

    def get(self, target: Target) -> Entry | None:
        return self._current.get(target)

    def versions(self) -> dict[Target, str]:
        # A copy first (one C call): the status writer reads from its thread while the config
        # server's loop may be refreshing.
        return {t: e.version for t, e in dict(self._current).items()}

    def observe(self, event: str, cm: Body) -> set[Target]:
        """Apply one watch event (ADDED, MODIFIED, DELETED); the targets whose config changed."""
        meta = cm.get("metadata") or {}
        name = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        if event == "DELETED":
            self._objects.pop(name, None)
        else:
            self._objects[name] = cm
        return self._refresh({name[0]})

    def replace(self, cms: Iterable[Body], namespace: str = "") -> set[Target]:
        """A full listing of `namespace` (every namespace when empty): what it lacks is gone."""
        before = {ns for ns, _ in self._objects if not namespace or ns == namespace}
        self._objects = {k: v for k, v in self._objects.items() if namespace and k[0] != namespace}
        for cm in cms:
            meta = cm.get("metadata") or {}
            self._objects[(str(meta.get("namespace") or ""), str(meta.get("name") or ""))] = cm
        listed = {ns for ns, _ in self._objects if not namespace or ns == namespace}
        return self._refresh(before | listed)

    def _refresh(self, namespaces: set[str]) -> set[Target]:
        changed: set[Target] = set()
        found: dict[Target, Entry] = {}
        for (ns, _), cm in self._objects.items():
            if ns not in namespaces:
                continue
            target = target_of(cm)
            if target is None:
                continue
            entry = self._entry(ns, cm, self._current.get(target))
            if entry is not None:
                found[target] = entry
        for target in [t for t in self._current if t.namespace in namespaces]:
            if target not in found:
                del self._current[target]
                changed.add(target)
        for target, entry in found.items():
            if self._current.get(target) != entry:
                self._current[target] = entry
                changed.add(target)
        return changed

    def _entry(self, ns: str, cm: Body, previous: Entry | None) -> Entry | None:
        raw = str((cm.get("data") or {}).get(CONFIG_KEY, "")).encode()
        if not raw:
            return previous
        annotations = (cm.get("metadata") or {}).get("annotations") or {}
        version = str(annotations.get(VERSION_ANNOTATION) or hashlib.sha256(raw).hexdigest()[:16])
        if previous is not None and previous.version == version:
            return previous
        if not configparts.is_index(raw):
            return Entry(version, raw)
        parts = self._part_files(ns)
        try:
            return Entry(version, configparts.assemble(raw, lambda file: _part(parts, file)))
        except configparts.ConfigPartsError:
            return previous  # this version's parts are not all here yet: keep serving the last

    def _part_files(self, ns: str) -> dict[str, str]:
        files: dict[str, str] = {}
        for (obj_ns, _), cm in self._objects.items():
            if obj_ns == ns:
                files.update(cm.get("binaryData") or {})
        return files


def _part(parts: Mapping[str, str], file: str) -> bytes:
    if file not in parts:
        raise FileNotFoundError(2, "not in any watched ConfigMap", file)
    try:
        return base64.b64decode(parts[file], validate=True)
    except (binascii.Error, ValueError):
        raise OSError(5, "not valid base64", file) from None
