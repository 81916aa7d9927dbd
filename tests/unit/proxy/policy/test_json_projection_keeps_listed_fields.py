"""project_json: dotted fields kept (Include) or dropped (Exclude), lists mapped over, `a[].b`
read as `a.b`, non-JSON left to the runtime."""

from __future__ import annotations

import json

import pytest

from meshproxy.policy.projection import JsonProjector, project_json

DOC = json.dumps(
    {
        "total": 2,
        "meta": {"page": 1, "next": "/p2"},
        "items": [
            {"id": 1, "name": "a", "secret": "x", "tags": [{"k": "t", "v": 1}]},
            {"id": 2, "name": "b", "secret": "y", "tags": []},
        ],
    }
).encode()


@pytest.mark.parametrize(
    ("fields", "want"),
    [
        (["total"], {"total": 2}),
        (["meta"], {"meta": {"page": 1, "next": "/p2"}}),
        (["meta.page"], {"meta": {"page": 1}}),
        (["items.id"], {"items": [{"id": 1}, {"id": 2}]}),
        (["items.id", "items.name"], {"items": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}),
        (["items.tags.k"], {"items": [{"tags": [{"k": "t"}]}, {"tags": []}]}),
        (["items", "items.id"], {"items": json.loads(DOC)["items"]}),
        (["items.id", "items"], {"items": json.loads(DOC)["items"]}),
        (["meta.page", "meta.page.x"], {"meta": {"page": 1}}),
        (["missing", "total.deeper"], {}),
        ([], {}),
    ],
)
def test_fields_are_kept(fields: list[str], want: object) -> None:
    result = project_json(DOC, fields)
    assert result is not None
    assert json.loads(result) == want


@pytest.mark.parametrize(
    ("fields", "want"),
    [
        (["secret"], json.loads(DOC)),
        (["items.secret"], {**json.loads(DOC), "items": [
            {"id": 1, "name": "a", "tags": [{"k": "t", "v": 1}]},
            {"id": 2, "name": "b", "tags": []},
        ]}),
        (["items[].secret", "items[].tags[].v"], {**json.loads(DOC), "items": [
            {"id": 1, "name": "a", "tags": [{"k": "t"}]},
            {"id": 2, "name": "b", "tags": []},
        ]}),
        (["meta", "total"], {"items": json.loads(DOC)["items"]}),
        (["meta.page.deeper", "missing"], json.loads(DOC)),
    ],
)  # fmt: skip
def test_exclude_drops_the_named_fields_and_keeps_everything_else(
    fields: list[str], want: object
) -> None:
    result = project_json(DOC, fields, exclude=True)
    assert result is not None
    assert json.loads(result) == want


def test_the_api_spelling_of_a_list_path_is_the_same_path() -> None:
    assert project_json(DOC, ["items[].id"]) == project_json(DOC, ["items.id"])
    assert json.loads(project_json(DOC, ["items[].tags[].k"]) or b"") == {
        "items": [{"tags": [{"k": "t"}]}, {"tags": []}]
    }


def test_exclude_keeps_plain_values_in_lists() -> None:
    result = project_json(b'{"a": [1, {"x": 1, "y": 2}]}', ["a.x"], exclude=True)
    assert result == b'{"a":[1,{"y":2}]}'


def test_key_order_of_the_document_is_kept() -> None:
    result = project_json(b'{"b": 1, "a": 2, "c": 3}', ["c", "a", "b"])
    assert result == b'{"b":1,"a":2,"c":3}'


def test_top_level_list_is_mapped_over() -> None:
    result = project_json(b'[{"id": 1, "x": 2}, 7, {"id": 3}]', ["id"])
    assert result == b'[{"id":1},{"id":3}]'


@pytest.mark.parametrize("body", [b"not json", b"{", b"\xff\xfe", b""])
def test_not_json_gives_none(body: bytes) -> None:
    assert project_json(body, ["id"]) is None


def test_json_scalar_comes_back_unchanged() -> None:
    assert project_json(b"42", ["id"]) == b"42"


def test_unicode_survives() -> None:
    assert project_json('{"n": "café", "x": 1}'.encode(), ["n"]) == '{"n":"café"}'.encode()


def test_deeply_nested_body_is_not_json_for_us() -> None:
    assert project_json(b"[" * 100_000 + b"]" * 100_000, ["a"]) is None


def test_empty_field_is_refused_at_load() -> None:
    with pytest.raises(ValueError, match="empty field"):
        JsonProjector(["a", ""])
