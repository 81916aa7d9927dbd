"""RFC 6902 JSON patch: the operation type, pointer escaping, and a small pure applier.

The applier knows `add`, `remove` and `replace`, which is all the sidecar patch emits; it lets the
offline CLI apply exactly the patch the webhook returns without another dependency. It never
mutates its input: it returns a patched deep copy, and raises `PatchError` on a bad path.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Literal, NotRequired, TypedDict


class Op(TypedDict):
    op: Literal["add", "remove", "replace"]
    path: str
    value: NotRequired[Any]


class PatchError(ValueError):
    pass


def pointer(*parts: str | int) -> str:
    """A JSON pointer from raw path parts, escaping `~` and `/` (label keys have slashes)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _split(path: str) -> list[str]:
    if not path.startswith("/"):
        raise PatchError(f"not a JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], part: str, *, for_add: bool) -> int:
    if for_add and part == "-":
        return len(container)
    if not part.isdigit():
        raise PatchError(f"not a list index: {part!r}")
    i = int(part)
    if i > len(container) or (i == len(container) and not for_add):
        raise PatchError(f"index {i} out of range")
    return i


def _apply_one(doc: Any, op: Op) -> Any:
    parts = _split(op["path"])
    parent = doc
    for token in parts[:-1]:
        if isinstance(parent, list):
            parent = parent[_index(parent, token, for_add=False)]
        elif isinstance(parent, dict) and token in parent:
            parent = parent[token]
        else:
            raise PatchError(f"no such path: {op['path']}")
    last = parts[-1]
    kind = op["op"]
    if isinstance(parent, list):
        i = _index(parent, last, for_add=kind == "add")
        if kind == "add":
            parent.insert(i, copy.deepcopy(op["value"]))
        elif kind == "remove":
            del parent[i]
        else:
            parent[i] = copy.deepcopy(op["value"])
    elif isinstance(parent, dict):
        if kind != "add" and last not in parent:
            raise PatchError(f"no such path: {op['path']}")
        if kind == "remove":
            del parent[last]
        else:
            parent[last] = copy.deepcopy(op["value"])
    else:
        raise PatchError(f"cannot descend into a scalar at {op['path']}")
    return doc


def apply(doc: Mapping[str, Any], ops: Iterable[Op]) -> dict[str, Any]:
    result: dict[str, Any] = copy.deepcopy(dict(doc))
    for op in ops:
        _apply_one(result, op)
    return result


def apply_in_place(doc: dict[str, Any], ops: Iterable[Op]) -> None:
    """Apply to `doc` itself, for callers (kopf's patch functions) that hand over a copy."""
    for op in ops:
        _apply_one(doc, op)
