"""`Request.header(name)` is every line of that name, in order, joined with ", ": the same answer
whether the header map has been built or not, and None for a name the client did not send."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from meshproxy.http.message import Request

_names = st.sampled_from(["accept", "cookie", "x-meshgate-target-port", "via"])
_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=12)


def _request(headers: list[tuple[str, str]]) -> Request:
    return Request("GET", "/", "", headers, "backend.bench", None, "1.1", True)


@given(headers=st.lists(st.tuples(_names, _values), max_size=8), name=_names)
def test_scan_and_map_give_the_same_joined_value(headers: list[tuple[str, str]], name: str) -> None:
    expected = [value for key, value in headers if key == name]
    scanned = _request(headers).header(name)
    mapped_request = _request(headers)
    mapped_request.headers_dict()
    assert scanned == mapped_request.header(name)
    assert scanned == (", ".join(expected) if expected else None)


def test_a_repeated_header_keeps_the_order_the_client_sent() -> None:
    request = _request([("cookie", "a=1"), ("accept", "*/*"), ("cookie", "b=2")])
    assert request.header("cookie") == "a=1, b=2"
    assert request.header("x-meshgate-target-port") is None
