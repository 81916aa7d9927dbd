"""Golden signals from two scrapes of meshproxy's /metrics."""

from __future__ import annotations

from meshgate.cli.proxies import Proxy
from meshgate.cli.signals import parse, quantile, signals

GW = Proxy(
    "shop", "edge-1", "gateway", "edge", "meshgate-gw-edge", "v", "img", "10.0.0.1", "Running"
)


def scrape(ok: int, failed: int, fast: int, slow: int) -> str:
    labels = 'listener="http",direction="ingress",route="shop/orders/rule0/0",cluster="c"'
    return "\n".join(
        [
            f'meshproxy_requests_total{{{labels},code="200"}} {ok}',
            f'meshproxy_requests_total{{{labels},code="503"}} {failed}',
            f'meshproxy_request_duration_seconds_bucket{{{labels},le="0.01"}} {fast}',
            f'meshproxy_request_duration_seconds_bucket{{{labels},le="0.1"}} {fast + slow}',
            f'meshproxy_request_duration_seconds_bucket{{{labels},le="+Inf"}} {fast + slow}',
        ]
    )


def test_rates_and_success_come_from_the_difference_between_scrapes() -> None:
    before = {GW: parse(scrape(ok=100, failed=0, fast=100, slow=0))}
    after = {GW: parse(scrape(ok=190, failed=10, fast=180, slow=20))}
    rows = {(s.scope, s.name): s for s in signals(before, after, 10.0)}
    gw = rows[("gateway", "edge")]
    assert gw.requests == 100
    assert gw.rps == 10.0
    assert gw.success_rate == 0.9
    route = rows[("route", "orders")]
    assert route.namespace == "shop"
    assert route.requests == 100


def test_quantiles_interpolate_within_buckets() -> None:
    buckets = [(0.01, 80.0), (0.1, 100.0), (float("inf"), 100.0)]
    assert quantile(buckets, 0.5) == 6.25
    assert quantile(buckets, 0.9) == 55.0
    assert quantile([], 0.5) is None
