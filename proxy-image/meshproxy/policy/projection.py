"""JSON response projection: keep only (Include) or drop (Exclude) the listed dotted fields.

`items.id` names `id` of every element of `items`: lists are mapped over at every level, so a
path reads the same whether a level holds one object or many, and `items[].id` (the API's
spelling) is the same path. A field that names a whole value (`meta`) keeps or drops that value
as it is. Keys keep their order in the original document.

Include: objects in a list keep their place even when nothing of them is kept (`{}`), so
indices still line up; plain values in a list under a path that goes deeper have nothing to
keep and are left out. Exclude: everything not named stays exactly as it was, plain values in
lists included; a named field that is absent changes nothing.

A body that is not JSON, or not UTF-8, gives None and the runtime passes it on unchanged; a
top-level value that is neither object nor list has no fields and comes back unchanged. The
runtime bounds the body (`maxBodyBytes`) before calling this.

This module must never do I/O or log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["JsonProjector", "project_json"]

_Tree = dict[str, "_Tree"]  # an empty tree means: keep the whole value


class JsonProjector:
    """The field list compiled into a tree once; `project` is the per-response call."""

    __slots__ = ("_exclude", "_tree")

    def __init__(self, fields: Sequence[str], exclude: bool = False) -> None:
        self._exclude = exclude
        tree: _Tree = {}
        leaves: set[tuple[str, ...]] = set()
        for field in fields:
            parts = tuple(p.removesuffix("[]") for p in field.split(".") if p.removesuffix("[]"))
            if not parts:
                raise ValueError(f"jsonProjection: empty field {field!r}")
            leaves.add(parts)
            node = tree
            for part in parts:
                node = node.setdefault(part, {})
        # `a` and `a.b` together keep all of `a`: a shorter path wins, so it is marked last.
        for parts in sorted(leaves, key=len, reverse=True):
            node = tree
            for part in parts[:-1]:
                node = node[part]
            node[parts[-1]] = {}
        self._tree = tree

    def project(self, body: bytes) -> bytes | None:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return None
        if not isinstance(document, dict | list):
            return body
        projected = _drop(document, self._tree) if self._exclude else _project(document, self._tree)
        return json.dumps(projected, ensure_ascii=False, separators=(",", ":")).encode()


def project_json(body: bytes, fields: Sequence[str], exclude: bool = False) -> bytes | None:
    """One-off form of `JsonProjector(fields).project(body)`; compile once where it repeats."""
    return JsonProjector(fields, exclude).project(body)


def _project(value: Any, tree: _Tree) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            sub = tree.get(key)
            if sub is None:
                continue
            if not sub:
                out[key] = item
            elif isinstance(item, dict | list):
                out[key] = _project(item, sub)
        return out
    # a list: map over it, keeping objects and lists, dropping plain values
    return [_project(item, tree) for item in value if isinstance(item, dict | list)]


def _drop(value: Any, tree: _Tree) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            sub = tree.get(key)
            if sub is None:
                out[key] = item
            elif sub and isinstance(item, dict | list):
                out[key] = _drop(item, sub)
            elif sub:
                out[key] = item  # a deeper path under a plain value names nothing here
        return out
    return [_drop(item, tree) if isinstance(item, dict | list) else item for item in value]
