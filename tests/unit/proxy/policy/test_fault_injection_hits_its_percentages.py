"""FaultDecider: delays and aborts hit their configured share of requests, independently."""

from __future__ import annotations

import pytest

from meshproxy import config
from meshproxy.policy.fault import FaultDecider


def fault(**spec: object) -> FaultDecider:
    return FaultDecider(config.Fault.from_data(spec))


def test_no_fault_configured_never_hits() -> None:
    assert fault().decide(0.0, 0.0) == (0.0, None)


def test_full_percentages_always_hit() -> None:
    both = fault(delay={"fixedDelay": 1.5}, abort={"status": 503})
    assert both.decide(0.0, 0.0) == (1.5, 503)
    assert both.decide(0.9999, 0.9999) == (1.5, 503)


def test_zero_percent_never_hits() -> None:
    never = fault(delay={"fixedDelay": 1, "percent": 0}, abort={"status": 500, "percent": 0})
    assert never.decide(0.0, 0.0) == (0.0, None)


@pytest.mark.parametrize(
    ("r_delay", "r_abort", "want"),
    [
        (0.24, 0.09, (2.0, 429)),
        (0.25, 0.09, (0.0, 429)),
        (0.24, 0.10, (2.0, None)),
        (0.90, 0.90, (0.0, None)),
    ],
)
def test_each_fault_uses_its_own_draw(
    r_delay: float, r_abort: float, want: tuple[float, int | None]
) -> None:
    policy = fault(delay={"fixedDelay": 2, "percent": 25}, abort={"status": 429, "percent": 10})
    assert policy.decide(r_delay, r_abort) == want


def test_share_of_aborts_over_a_uniform_grid() -> None:
    policy = fault(abort={"status": 500, "percent": 30})
    hits = sum(policy.decide(0.5, i / 1000)[1] is not None for i in range(1000))
    assert hits == 300
