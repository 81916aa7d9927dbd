"""Listener/Route hostname intersection and Gateway API durations."""

from __future__ import annotations

import pytest

from meshgate.compile.durations import seconds
from meshgate.compile.hostnames import intersect


@pytest.mark.parametrize(
    ("listener", "route", "want"),
    [
        (None, None, ["*"]),
        ("a.example.com", None, ["a.example.com"]),
        (None, ["b.example.com"], ["b.example.com"]),
        ("*.example.com", ["a.example.com", "other.org"], ["a.example.com"]),
        ("a.example.com", ["*.example.com"], ["a.example.com"]),
        ("*.example.com", ["example.com"], []),
        ("a.example.com", ["b.example.com"], []),
    ],
)
def test_intersection(listener: str | None, route: list[str] | None, want: list[str]) -> None:
    assert intersect(listener, route) == want


@pytest.mark.parametrize(
    ("text", "want"), [("250ms", 0.25), ("10s", 10.0), ("1m", 60.0), ("1h30m", 5400.0)]
)
def test_durations(text: str, want: float) -> None:
    assert seconds(text) == want


@pytest.mark.parametrize("text", ["", "10", "1x", "s10"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        seconds(text)
