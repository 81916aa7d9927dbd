"""`safe_head` passes a head its builder wrote line by line (each line ended with its own CRLF)
exactly when no value carried a CR, LF or NUL, wherever in a value and in whatever order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from meshproxy.http.heads import safe_head

_pieces = ["a", " ", ":", "\xe9", "\r", "\n", "\x00", "\r\n", "\n\r"]
_values = st.lists(st.sampled_from(_pieces)).map("".join)


@given(values=st.lists(_values, min_size=1, max_size=6))
def test_safe_exactly_when_no_value_holds_cr_lf_or_nul(values: list[str]) -> None:
    parts = ["GET / HTTP/1.1\r\nhost: h\r\n"] + [f"x-{i}: {v}\r\n" for i, v in enumerate(values)]
    parts.append("\r\n")
    head = "".join(parts)
    clean = not any(c in v for v in values for c in "\r\n\x00")
    assert safe_head(head, len(parts) + 1) is clean


def test_a_value_that_brings_its_own_crlf_line_is_refused() -> None:
    head = "HTTP/1.1 200 OK\r\nset-cookie: a\r\nx-evil: 1\r\n\r\n"
    assert not safe_head(head, 3)  # the builder wrote three lines; the value added a fourth
    assert safe_head(head, 4)
