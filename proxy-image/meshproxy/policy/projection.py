"""JSON response projection: keep only the listed dotted fields of a JSON body.

`items.id` keeps `id` of every element of `items`: lists are mapped over at every level, so a
path reads the same whether a level holds one object or many. A field that names a whole value
(`meta`) keeps that value as it is. Keys keep their order in the original document. Objects in a
list keep their place even when nothing of them is kept (`{}`), so indices still line up; plain
values in a list under a path that goes deeper have nothing to keep and are left out.

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

    __slots__ = ("_tree",)

    def __init__(self, fields: Sequence[str]) -> None:
        tree: _Tree = {}
        leaves: set[tuple[str, ...]] = set()
        for field in fields:
            parts = tuple(p for p in field.split(".") if p)
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
        projected = _project(document, self._tree)
        return json.dumps(projected, ensure_ascii=False, separators=(",", ":")).encode()


def project_json(body: bytes, fields: Sequence[str]) -> bytes | None:
    """One-off form of `JsonProjector(fields).project(body)`; compile once where it repeats."""
    return JsonProjector(fields).project(body)


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
