"""HeaderOps: set/add/remove, and the byte rules that keep header injection off the wire."""

from __future__ import annotations

import pytest

from meshproxy import config
from meshproxy.policy.headers import HeaderOps, is_valid_header_name, is_valid_header_value


def ops(**spec: object) -> HeaderOps:
    return HeaderOps.compile(config.HeaderModifier.from_data(spec))


def test_set_replaces_every_copy_case_insensitively() -> None:
    result = ops(set={"X-Env": "prod"}).apply([("x-env", "a"), ("A", "1"), ("X-ENV", "b")])
    assert result == [("A", "1"), ("X-Env", "prod")]


def test_add_appends_beside_existing_copies() -> None:
    result = ops(add={"Via": "meshproxy"}).apply([("via", "other")])
    assert result == [("via", "other"), ("Via", "meshproxy")]


def test_remove_deletes_every_copy_case_insensitively() -> None:
    result = ops(remove=["x-meshgate-consumer"]).apply(
        [("X-Meshgate-Consumer", "forged"), ("host", "h"), ("x-meshgate-consumer", "again")]
    )
    assert result == [("host", "h")]


def test_apply_leaves_its_input_unchanged() -> None:
    headers = [("a", "1")]
    ops(set={"a": "2"}, add={"b": "3"}).apply(headers)
    assert headers == [("a", "1")]


@pytest.mark.parametrize(
    ("spec", "bad"),
    [
        ({"set": {"x-a": "ok\r\nX-Injected: 1"}}, "x-a"),
        ({"add": {"x-b": "nul\x00"}}, "x-b"),
        ({"add": {"x-c": "lf\n"}}, "x-c"),
        ({"add": {"x-d": "bell\x07"}}, "x-d"),
        ({"set": {"bad name": "v"}}, "bad name"),
        ({"set": {"colon:": "v"}}, "colon:"),
        ({"set": {"": "v"}}, "''"),
        ({"remove": ["x\r\n"]}, "x"),
        ({"set": {"x-e": "snowman \u2603"}}, "x-e"),
    ],
)
def test_bad_name_or_value_fails_compile_naming_the_header(
    spec: dict[str, object], bad: str
) -> None:
    with pytest.raises(ValueError, match=bad.replace("\\", "")):
        ops(**spec)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        (b"content-type", True),
        (b"X_Custom.Header~1", True),
        (b"", False),
        (b"bad name", False),
        (b"name:", False),
        (b"name\x00", False),
        (b"\xa0name", False),
        (b"na\tme", False),
    ],
)
def test_header_name_is_a_token(name: bytes, ok: bool) -> None:
    assert is_valid_header_name(name) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (b"", True),
        (b"text/html; charset=utf-8", True),
        (b"tab\tinside", True),
        (b"obs-text \xe9", True),
        (b"cr\r", False),
        (b"lf\n", False),
        (b"nul\x00", False),
        (b"esc\x1b", False),
        (b"del\x7f", False),
    ],
)
def test_header_value_has_no_control_bytes(value: bytes, ok: bool) -> None:
    assert is_valid_header_value(value) is ok
