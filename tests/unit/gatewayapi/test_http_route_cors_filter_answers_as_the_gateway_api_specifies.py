"""An HTTPRoute's CORS filter, compiled into the gateway's proxy config, answers preflights and
actual requests as the Gateway API specifies (the suite's HTTPRouteCORS cases): wildcard hosts in
origins, `*` with allowCredentials echoing the origin, exposed headers on preflights, a
credentialed request never answered `*`."""

from __future__ import annotations

from typing import Any

import pytest
from gwapi_kit import (
    backend,
    gateway,
    gateway_class,
    http_route,
    parent_condition,
    run,
    service,
    status,
)

from meshgate.compile import compile_snapshot
from meshproxy import config as pc
from meshproxy.policy.cors import CorsPolicy


def _policy(cors: dict[str, Any]) -> CorsPolicy:
    rule = {
        "filters": [{"type": "CORS", "cors": cors}],
        "backendRefs": [{"name": "web", "port": 8080}],
    }
    adapted, snap = run([gateway_class(), gateway(), service(), http_route(rules=[rule])])
    assert parent_condition(status(adapted, "HTTPRoute", "web"), "Accepted") == (
        "True",
        "Accepted",
    )
    (gw,) = compile_snapshot(snap).gateways
    routes: list[pc.Route] = [
        r for ln in gw.config.listeners for vh in ln.virtual_hosts for r in vh.routes
    ]
    (cfg,) = [r.cors for r in routes if r.cors is not None]
    return CorsPolicy(cfg)


PREFLIGHT = {
    "access-control-request-method": "GET",
    "access-control-request-headers": "x-header-1, x-header-2",
}


def test_listed_and_wildcard_host_origins_are_echoed_with_everything_the_filter_allows() -> None:
    policy = _policy(
        {
            "allowOrigins": ["https://www.foo.com", "https://*.bar.com"],
            "allowMethods": ["GET", "OPTIONS"],
            "allowHeaders": ["x-header-1", "x-header-2"],
            "exposeHeaders": ["x-header-3", "x-header-4"],
            "allowCredentials": True,
            "maxAge": 3600,
        }
    )
    for origin in ("https://www.foo.com", "https://www.bar.com", "https://xpto.www.bar.com"):
        got = dict(policy.preflight(origin, "OPTIONS", PREFLIGHT) or [])
        assert got["access-control-allow-origin"] == origin
        assert got["access-control-allow-methods"] == "GET, OPTIONS"
        assert got["access-control-allow-headers"] == "x-header-1, x-header-2"
        assert got["access-control-expose-headers"] == "x-header-3, x-header-4"
        assert got["access-control-max-age"] == "3600"
        assert got["access-control-allow-credentials"] == "true"
        assert dict(policy.response_headers(origin))["access-control-allow-origin"] == origin
    refused = dict(policy.preflight("https://foobar.com", "OPTIONS", PREFLIGHT) or [])
    assert "access-control-allow-origin" not in refused
    assert "access-control-allow-origin" not in dict(policy.response_headers("https://foobar.com"))


def test_star_with_credentials_echoes_the_origin_method_and_headers() -> None:
    policy = _policy(
        {
            "allowOrigins": ["*"],
            "allowMethods": ["*"],
            "allowHeaders": ["*"],
            "allowCredentials": True,
        }
    )
    ask = {**PREFLIGHT, "access-control-request-method": "PUT"}
    got = dict(policy.preflight("https://other.foo.com", "OPTIONS", ask) or [])
    assert got["access-control-allow-origin"] == "https://other.foo.com"
    assert got["access-control-allow-methods"] == "PUT"
    assert got["access-control-allow-headers"] == "x-header-1, x-header-2"
    assert got["access-control-allow-credentials"] == "true"
    actual = dict(policy.response_headers("https://other.foo.com", credentialed=True))
    assert actual["access-control-allow-origin"] == "https://other.foo.com"
    assert actual["access-control-allow-credentials"] == "true"


def test_star_without_credentials_never_allows_them_and_echoes_a_credentialed_request() -> None:
    policy = _policy({"allowOrigins": ["*"], "allowMethods": ["*"], "allowHeaders": ["*"]})
    got = dict(policy.preflight("https://other.foo.com", "OPTIONS", PREFLIGHT) or [])
    assert got["access-control-allow-origin"] in ("*", "https://other.foo.com")
    assert "access-control-allow-credentials" not in got
    actual = dict(policy.response_headers("https://other.foo.com", credentialed=True))
    assert actual["access-control-allow-origin"] == "https://other.foo.com"
    assert "access-control-allow-credentials" not in actual


@pytest.mark.parametrize(
    "cors",
    [
        pytest.param({"allowOrigins": ["https://*"]}, id="a-wildcard-alone-as-host"),
        pytest.param({"allowOrigins": ["https://a.com"], "maxAge": 90000}, id="max-age-over-a-day"),
    ],
)
def test_values_meshgates_filter_cannot_take_are_refused_as_unsupported(
    cors: dict[str, Any],
) -> None:
    rule = {"filters": [{"type": "CORS", "cors": cors}], "backendRefs": [backend()]}
    adapted, _ = run([gateway_class(), gateway(), service(), http_route(rules=[rule])])
    assert parent_condition(status(adapted, "HTTPRoute", "web"), "Accepted") == (
        "False",
        "UnsupportedValue",
    )
