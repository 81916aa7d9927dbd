"""The `Connection` values the codec recognises without splitting them name only hop-by-hop
headers: skipping them drops nothing more than splitting them would."""

from __future__ import annotations

import pytest

from meshproxy.http.heads import HOP_BY_HOP, PLAIN_CONNECTION, connection_tokens
from meshproxy.http1.response import read_head


@pytest.mark.parametrize("value", sorted(PLAIN_CONNECTION))
def test_a_plain_value_names_only_hop_by_hop_headers(value: str) -> None:
    assert connection_tokens(value) <= HOP_BY_HOP


@pytest.mark.parametrize("value", [*sorted(PLAIN_CONNECTION), "keep-alive, x-secret", "X-Secret"])
def test_response_headers_a_connection_value_names_are_dropped(value: str) -> None:
    raw = [("Connection", value), ("X-Secret", "s"), ("Content-Type", "text/plain")]
    fields = read_head(200, raw)
    assert fields is not None
    names = [name.lower() for name, _ in fields[0]]
    dropped = "x-secret" in connection_tokens(value)
    assert names == (["content-type"] if dropped else ["x-secret", "content-type"])
