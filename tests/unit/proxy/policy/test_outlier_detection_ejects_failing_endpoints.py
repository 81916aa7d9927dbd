"""OutlierDetector: consecutive failures eject, time returns, maxEjectionPercent caps."""

from __future__ import annotations

from typing import Any

import pytest

from meshproxy import config
from meshproxy.policy.balancer import EndpointState
from meshproxy.policy.outlier import OutlierDetector


def detector(n: int = 10, **spec: Any) -> tuple[OutlierDetector, list[EndpointState]]:
    eps = [EndpointState(f"10.0.0.{i}", 80) for i in range(n)]
    spec.setdefault("max_ejection_percent", 100)
    return OutlierDetector(config.OutlierDetection(**spec), eps), eps


def test_consecutive_5xx_eject_for_the_base_time() -> None:
    od, eps = detector(consecutive_5xx_errors=3, base_ejection_time=30)
    assert not od.record(eps[0], 500, 1.0)
    assert not od.record(eps[0], 503, 2.0)
    assert od.record(eps[0], 500, 3.0)
    assert eps[0].ejected_until == 33.0
    assert eps[0].ejection_count == 1
    assert od.ejections_total == 1


def test_a_success_resets_the_count() -> None:
    od, eps = detector(consecutive_5xx_errors=3)
    for status in (500, 500, 200, 500, 500):
        assert not od.record(eps[0], status, 1.0)
    assert eps[0].ejected_until == 0.0


@pytest.mark.parametrize(
    ("statuses", "ejected"),
    [
        ([502, 503, 504], True),
        ([None, None, None], True),
        ([502, None, 504], True),
        ([502, 500, 503, 504], False),  # a non-gateway 5xx resets the gateway count
        ([500, 500, 500], False),
        ([502, 404, 502, 502], False),
    ],
)
def test_gateway_errors_count_only_502_503_504_and_local_failures(
    statuses: list[int | None], ejected: bool
) -> None:
    od, eps = detector(consecutive_5xx_errors=0, consecutive_gateway_errors=3)
    results = [od.record(eps[0], s, 1.0) for s in statuses]
    assert any(results) is ejected


def test_local_failures_also_count_as_5xx() -> None:
    od, eps = detector(consecutive_5xx_errors=2)
    od.record(eps[0], None, 1.0)
    assert od.record(eps[0], 500, 1.0)


def test_zero_thresholds_never_eject() -> None:
    od, eps = detector(consecutive_5xx_errors=0, consecutive_gateway_errors=0)
    assert not any(od.record(eps[0], None, float(t)) for t in range(100))


def test_ejection_time_grows_with_each_ejection_and_is_capped() -> None:
    od, eps = detector(consecutive_5xx_errors=1, base_ejection_time=100, interval=1000)
    od.tick(0.0)
    now = 0.0
    lengths = []
    for _ in range(4):
        assert od.record(eps[0], 500, now)
        lengths.append(eps[0].ejected_until - now)
        now = eps[0].ejected_until
        od.tick(now)
    assert lengths == [100, 200, 300, 300]  # capped at Envoy's default of 300 s


def test_results_while_ejected_are_ignored() -> None:
    od, eps = detector(consecutive_5xx_errors=1, base_ejection_time=30)
    assert od.record(eps[0], 500, 0.0)
    assert not od.record(eps[0], 500, 10.0)
    assert eps[0].ejected_until == 30.0
    assert od.ejections_total == 1


def test_tick_returns_expired_endpoints_with_fresh_counters() -> None:
    od, eps = detector(
        consecutive_5xx_errors=1, consecutive_gateway_errors=5, base_ejection_time=30
    )
    assert od.record(eps[0], 502, 0.0)
    assert od.tick(29.9) == []
    assert od.ejected(29.9) == 1
    assert od.tick(30.0) == [eps[0]]
    assert eps[0].ejected_until == 0.0
    assert (eps[0].consecutive_5xx, eps[0].consecutive_gateway_errors) == (0, 0)
    assert od.ejected(30.0) == 0


def test_healthy_intervals_forgive_past_ejections() -> None:
    od, eps = detector(consecutive_5xx_errors=1, base_ejection_time=10, interval=10)
    od.tick(0.0)
    od.record(eps[0], 500, 0.0)
    od.tick(10.0)  # returned; no forgiveness in the same sweep
    assert eps[0].ejection_count == 1
    od.tick(15.0)  # less than an interval since the last sweep
    assert eps[0].ejection_count == 1
    od.tick(20.0)
    assert eps[0].ejection_count == 0
    assert od.record(eps[0], 500, 20.0)
    assert eps[0].ejected_until == 30.0  # back to the base time


@pytest.mark.parametrize(
    ("n", "percent", "max_ejected"),
    [
        (10, 10, 1),
        (10, 20, 2),
        (10, 25, 3),  # 20% < 25% allows a third: one past the percentage
        (3, 50, 2),
        (2, 10, 1),  # none ejected yet: one may always go
        (1, 10, 1),
        (10, 0, 0),
        (4, 100, 4),
    ],
)
def test_max_ejection_percent(n: int, percent: float, max_ejected: int) -> None:
    od, eps = detector(n, consecutive_5xx_errors=1, max_ejection_percent=percent)
    for e in eps:
        od.record(e, 500, 0.0)
    assert od.ejected(0.0) == max_ejected
    assert od.ejections_total == max_ejected
