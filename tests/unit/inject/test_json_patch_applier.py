"""The small RFC 6902 applier: add, remove, replace, escaping, and refusing bad paths."""

from __future__ import annotations

import pytest

from meshgate.inject.jsonpatch_ops import Op, PatchError, apply, pointer


def test_add_escapes_slashes_in_keys_and_leaves_the_input_alone() -> None:
    doc = {"metadata": {"labels": {}}}
    out = apply(doc, [{"op": "add", "path": pointer("metadata", "labels", "a/b~c"), "value": "1"}])
    assert out == {"metadata": {"labels": {"a/b~c": "1"}}}
    assert doc == {"metadata": {"labels": {}}}


def test_list_insert_append_remove_replace() -> None:
    ops: list[Op] = [
        {"op": "add", "path": "/l/0", "value": "first"},
        {"op": "add", "path": "/l/-", "value": "last"},
        {"op": "replace", "path": "/l/1", "value": "middle"},
        {"op": "remove", "path": "/gone"},
    ]
    assert apply({"l": ["x"], "gone": 1}, ops) == {"l": ["first", "middle", "last"]}


@pytest.mark.parametrize(
    "op",
    [
        {"op": "remove", "path": "/missing"},
        {"op": "add", "path": "/a/b/c", "value": 1},
        {"op": "replace", "path": "/l/5", "value": 1},
        {"op": "add", "path": "no-slash", "value": 1},
    ],
)
def test_bad_paths_raise(op: Op) -> None:
    with pytest.raises(PatchError):
        apply({"l": []}, [op])
