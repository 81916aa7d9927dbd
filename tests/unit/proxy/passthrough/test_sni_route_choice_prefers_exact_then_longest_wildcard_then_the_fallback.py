"""`passthrough.routes`: which route a server name picks, and the weighted cluster draw."""

from __future__ import annotations

import pytest

from meshproxy import config
from meshproxy.passthrough.routes import SniRoutes, WeightedClusters

ROUTES = SniRoutes.compile(
    [
        (["db.example.com"], "exact"),
        (["*.example.com"], "wide"),
        (["*.eu.example.com", "other.test"], "narrow"),
        ([], "fallback"),
    ]
)


@pytest.mark.parametrize(
    ("server_name", "route"),
    [
        ("db.example.com", "exact"),
        ("api.example.com", "wide"),
        ("a.b.example.com", "wide"),  # a wildcard covers one or more labels
        ("pg.eu.example.com", "narrow"),  # the longest wildcard wins
        ("db.eu.example.com", "narrow"),
        ("other.test", "narrow"),
        ("example.com", "fallback"),  # `*.example.com` never covers the bare suffix
        ("xexample.com", "fallback"),
        ("unknown.test", "fallback"),
        (None, "fallback"),  # no SNI at all
    ],
)
def test_a_server_name_picks_exact_then_longest_wildcard_then_fallback(
    server_name: str | None, route: str
) -> None:
    assert ROUTES.pick(server_name) == route


def test_without_a_fallback_an_unknown_or_missing_name_picks_nothing() -> None:
    routes = SniRoutes.compile([(["db.example.com"], "exact"), (["*.example.com"], "wide")])
    assert routes.pick("db.example.org") is None
    assert routes.pick(None) is None
    assert routes.pick("example.com") is None


def test_the_first_route_to_claim_a_wildcard_keeps_it() -> None:
    routes = SniRoutes.compile([(["*.example.com"], "first"), (["*.example.com"], "second")])
    assert routes.pick("a.example.com") == "first"


def test_weighted_clusters_split_by_weight_and_never_draw_weight_zero() -> None:
    clusters = WeightedClusters(
        [
            config.WeightedCluster(cluster="a", weight=1),
            config.WeightedCluster(cluster="never", weight=0),
            config.WeightedCluster(cluster="b", weight=3),
        ]
    )
    draws = [clusters.pick(i / 1000) for i in range(1000)]
    assert draws.count("a") == 250
    assert draws.count("b") == 750
    assert "never" not in draws
