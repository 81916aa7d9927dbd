"""Undo the sidecar patch: remove exactly what `patch` added and nothing the user wrote.

Recognises our pieces by name (`names`) and our env entries by name *and* value, so an app's own
HTTP_PROXY survives. A list or map our patch created is removed when it ends up empty. Pure: it
returns a new dict and must never mutate its input.
"""

from __future__ import annotations

import copy
from typing import Any

from . import names, sidecar
from .podview import Body

_OUR_ENV = [{"name": n, "value": v} for n, v in sidecar.PROXY_ENV]


def _drop_empty(obj: dict[str, Any], key: str) -> None:
    if key in obj and not obj[key]:
        del obj[key]


def _strip_env(container: dict[str, Any]) -> None:
    if container.get("env"):
        container["env"] = [e for e in container["env"] if e not in _OUR_ENV]
        _drop_empty(container, "env")


def uninject(pod: Body) -> dict[str, Any]:
    result: dict[str, Any] = copy.deepcopy(dict(pod))
    meta = result.get("metadata")
    if isinstance(meta, dict):
        for field, key in (
            ("labels", names.INJECTED_LABEL),
            ("annotations", names.INJECTED_VERSION_ANNOTATION),
        ):
            if isinstance(meta.get(field), dict):
                meta[field].pop(key, None)
                _drop_empty(meta, field)
        if not meta:
            del result["metadata"]
    spec = result.get("spec")
    if not isinstance(spec, dict):
        return result
    for field in ("initContainers", "containers"):
        if isinstance(spec.get(field), list):
            spec[field] = [c for c in spec[field] if c.get("name") not in names.OUR_CONTAINERS]
            for c in spec[field]:
                _strip_env(c)
    _drop_empty(spec, "initContainers")
    if isinstance(spec.get("volumes"), list):
        spec["volumes"] = [v for v in spec["volumes"] if v.get("name") not in names.OUR_VOLUMES]
        _drop_empty(spec, "volumes")
    return result
