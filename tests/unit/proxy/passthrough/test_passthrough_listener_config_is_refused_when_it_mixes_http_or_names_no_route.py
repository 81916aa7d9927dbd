"""The `passthrough` listener schema: what a config may say, checked by the proxy's decoder."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meshproxy import config


def _config(listener: dict[str, Any]) -> bytes:
    base = {"name": "l", "port": 9000, "role": "edge"}
    return json.dumps(
        {
            "node": {"role": "gateway"},
            "listeners": [{**base, **listener}],
            "clusters": [{"name": "c", "endpoints": [{"address": "127.0.0.1", "port": 1}]}],
        }
    ).encode()


def _route(**extra: Any) -> dict[str, Any]:
    return {"name": "r", "clusters": [{"cluster": "c"}], **extra}


def test_a_tls_listener_with_sni_routes_loads() -> None:
    cfg = config.parse_config(
        _config(
            {
                "passthrough": {
                    "protocol": "TLS",
                    "routes": [_route(sni=["db.example.com", "*.example.org"]), _route(name="any")],
                }
            }
        )
    )
    passthrough = cfg.listeners[0].passthrough
    assert isinstance(passthrough, config.Passthrough)
    assert [r.sni for r in passthrough.routes] == [["db.example.com", "*.example.org"], []]


def test_listeners_without_routes_load_and_close_every_connection() -> None:
    for protocol in ("TCP", "TLS"):
        cfg = config.parse_config(_config({"passthrough": {"protocol": protocol, "routes": []}}))
        passthrough = cfg.listeners[0].passthrough
        assert isinstance(passthrough, config.Passthrough)
        assert passthrough.routes == []


def test_an_http_listener_writes_no_passthrough_field() -> None:
    cfg = config.parse_config(_config({}))
    assert "passthrough" not in json.loads(config.dump_config(cfg))["listeners"][0]


@pytest.mark.parametrize(
    ("listener", "problem"),
    [
        ({"passthrough": {"protocol": "TCP", "routes": [_route(), _route()]}}, "at most one"),
        ({"passthrough": {"protocol": "TCP", "routes": [_route(sni=["a.b"])]}}, "at most one"),
        ({"passthrough": {"protocol": "TLS"}}, "routes"),
        (
            {"passthrough": {"protocol": "TLS", "routes": [_route(), _route(name="s")]}},
            "at most one route without sni",
        ),
        (
            {
                "passthrough": {
                    "protocol": "TLS",
                    "routes": [_route(sni=["a.b"]), _route(name="s", sni=["a.b"])],
                }
            },
            "claimed by two routes",
        ),
        ({"passthrough": {"protocol": "TLS", "routes": [_route(sni=["A.b"])]}}, "lower-case"),
        ({"passthrough": {"protocol": "TLS", "routes": [_route(sni=["*"])]}}, "lower-case"),
        (
            {"passthrough": {"protocol": "TLS", "routes": [_route(clusters=[{"cluster": "x"}])]}},
            "cluster 'x' is not defined",
        ),
        (
            {
                "passthrough": {"protocol": "TCP", "routes": [_route()]},
                "virtualHosts": [{"name": "v", "domains": ["*"], "routes": []}],
            },
            "without virtualHosts",
        ),
        (
            {
                "passthrough": {"protocol": "TLS", "routes": [_route()]},
                "tls": {"certFile": "/c", "keyFile": "/k"},
            },
            "without tls",
        ),
        (
            {"passthrough": {"protocol": "TCP", "routes": [_route()]}, "role": "outbound"},
            "role edge",
        ),
        (
            {"passthrough": {"protocol": "UDP", "routes": [_route()]}},
            "protocol",
        ),
    ],
)
def test_a_passthrough_listener_that_mixes_in_http_or_routes_badly_is_refused(
    listener: dict[str, Any], problem: str
) -> None:
    with pytest.raises(config.ConfigError, match=problem):
        config.parse_config(_config(listener))
