"""Proxy status over several replicas: each publishes what its polling proxies run; the sums of
fresh reports say how many of a target's proxies run its current version, stale ones count not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meshgate.push.proxies import ProxyBook
from meshgate.push.status import (
    NAMESPACE_ANNOTATION,
    ProxyCount,
    aggregate,
    gateway_status_patch,
    namespace_patch,
    read_report,
    report_body,
)
from meshproxy.delivery.target import Target

GW = Target("gateway", "shop", "edge")
MESH = Target("mesh", "shop")
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_reports_of_two_replicas_sum_and_a_stale_one_is_left_out() -> None:
    one, two = ProxyBook(), ProxyBook()
    one.polled(GW, "198.18.0.5", "id", "v2", now=0.0)
    one.polled(MESH, "198.18.0.7", "id", "m1", now=0.0)
    two.polled(GW, "198.18.0.6", "id", "v1", now=0.0)
    gone = ProxyBook()
    gone.polled(GW, "198.18.0.9", "id", "v2", now=0.0)
    reports = [
        report_body("198.18.0.2", "meshgate-system", one.counts(1.0), NOW),
        report_body("198.18.0.3", "meshgate-system", two.counts(1.0), NOW - timedelta(seconds=5)),
        report_body("198.18.0.4", "meshgate-system", gone.counts(1.0), NOW - timedelta(minutes=5)),
    ]
    assert reports[0]["metadata"]["name"] == "meshgate-proxies-198-18-0-2"
    assert "app.kubernetes.io/managed-by" not in reports[0]["metadata"]["labels"]
    sums = aggregate((read_report(r, NOW) for r in reports), {GW: "v2", MESH: "m2"})
    assert sums == {GW: ProxyCount("v2", 1, 2), MESH: ProxyCount("m2", 0, 1)}
    assert gateway_status_patch(sums[GW]) == {
        "status": {"proxies": {"version": "v2", "current": 1, "total": 2}}
    }
    assert namespace_patch(sums[MESH])["metadata"]["annotations"] == {
        NAMESPACE_ANNOTATION: "0/1 proxies on config m2"
    }


def test_a_target_without_proxies_reports_zero_of_zero() -> None:
    assert aggregate([], {GW: "v1"}) == {GW: ProxyCount("v1", 0, 0)}


def test_an_unreadable_report_counts_nothing() -> None:
    assert read_report({"metadata": {}, "data": {"proxies.json": "{"}}, NOW) == {}


def test_a_report_stale_past_the_abandoned_age_is_garbage_and_a_slow_one_is_not() -> None:
    from meshgate.push.status import ABANDONED_SECONDS, FRESH_SECONDS, abandoned

    book = ProxyBook()
    book.polled(GW, "198.18.0.5", "id", "v2", now=0.0)
    slow = report_body("a", "meshgate-system", book.counts(1.0), NOW - timedelta(seconds=90))
    gone = report_body(
        "b", "meshgate-system", book.counts(1.0), NOW - timedelta(seconds=ABANDONED_SECONDS + 1)
    )
    assert FRESH_SECONDS < 90 < ABANDONED_SECONDS
    # Stale: it no longer counts; but its replica may only be slow, so the object stays.
    assert read_report(slow, NOW) == {}
    assert not abandoned(slow, NOW)
    assert abandoned(gone, NOW)
    # A report that never said when it was made is not waited for.
    assert abandoned({"metadata": {"name": "meshgate-proxies-x"}}, NOW)
