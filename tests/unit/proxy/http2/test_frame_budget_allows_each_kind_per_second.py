"""The per-connection frame budget: each kind (resets, PINGs, SETTINGS) has its own count per
one-second window; the frame over the limit is refused, and a new second starts afresh."""

from __future__ import annotations

from meshproxy.config import Http2Limits
from meshproxy.http2.budget import PING, RESET, SETTINGS, FrameBudget


def test_the_frame_over_the_limit_is_refused_within_one_second() -> None:
    budget = FrameBudget(Http2Limits(max_resets_per_second=3))
    assert [budget.spend(RESET, 10.0 + i * 0.1) for i in range(4)] == [True, True, True, False]


def test_a_new_second_starts_a_new_count() -> None:
    budget = FrameBudget(Http2Limits(max_pings_per_second=2))
    assert budget.spend(PING, 1.0)
    assert budget.spend(PING, 1.5)
    assert not budget.spend(PING, 1.9)
    assert budget.spend(PING, 2.1)


def test_kinds_are_counted_apart() -> None:
    budget = FrameBudget(Http2Limits(max_settings_per_second=1, max_pings_per_second=1))
    assert budget.spend(SETTINGS, 0.0)
    assert budget.spend(PING, 0.0)
    assert not budget.spend(SETTINGS, 0.5)
