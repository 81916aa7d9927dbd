"""Routing through the real proxy process: every match kind, local answers, and weighted splits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from meshproxy_e2e import Backends, Behaviour, Client, cluster, config, forward, running

pytestmark = pytest.mark.e2e


def test_each_match_kind_reaches_its_backend(tmp_path: Path, backends: Backends, port: int) -> None:
    names = ["exact", "prefix", "regex", "header", "query", "method", "fallback"]
    ports = {n: backends.start(Behaviour(n)) for n in names}
    routes = [
        forward("exact", "exact", match={"path": {"type": "Exact", "value": "/exact"}}),
        forward("prefix", "prefix", match={"path": {"type": "PathPrefix", "value": "/api"}}),
        forward(
            "regex", "regex", match={"path": {"type": "RegularExpression", "value": "/v[0-9]+/.*"}}
        ),
        forward("header", "header", match={"headers": [{"name": "X-Tenant", "value": "blue"}]}),
        forward("query", "query", match={"queryParams": [{"name": "beta", "value": "1"}]}),
        forward("method", "method", match={"method": "DELETE"}),
        {
            "name": "redirect",
            "match": {"path": {"type": "Exact", "value": "/old"}},
            "redirect": {"path": {"type": "ReplaceFullPath", "value": "/new"}, "statusCode": 301},
        },
        {
            "name": "direct",
            "match": {"path": {"type": "Exact", "value": "/health"}},
            "directResponse": {"status": 200, "body": "fine"},
        },
        forward("fallback", "fallback", match={"path": {"type": "PathPrefix", "value": "/"}}),
    ]
    cfg = config(port, routes, [cluster(n, p) for n, p in ports.items()], domains=("app.test",))
    with running(tmp_path, cfg):
        client = Client(port)
        cases = [
            ("GET", "/exact", {}, "exact"),
            ("GET", "/api/items", {}, "prefix"),
            ("GET", "/apix", {}, "fallback"),  # whole segments only
            ("GET", "/v2/users", {}, "regex"),
            ("GET", "/x", {"X-Tenant": "blue"}, "header"),
            ("GET", "/x?beta=1", {}, "query"),
            ("DELETE", "/x", {}, "method"),
            ("GET", "/x", {}, "fallback"),
        ]
        for method, path, headers, expected in cases:
            status, _, body = client.request(method, path, headers=headers)
            assert status == 200, (path, body)
            assert json.loads(body)["backend"] == expected, path
        status, headers, _ = client.request("GET", "/old?a=1")
        assert status == 301
        assert headers["location"] == "http://app.test/new?a=1"
        assert client.request("GET", "/health")[2] == b"fine"
        other = Client(port, host="unknown.test")
        assert other.request("GET", "/x")[0] == 404


def test_weighted_split_is_within_three_points_over_two_thousand_requests(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    a = backends.start(Behaviour("a", record=False))
    b = backends.start(Behaviour("b", record=False))
    routes = [forward("split", ("a", 80), ("b", 20))]
    with running(tmp_path, config(port, routes, [cluster("a", a), cluster("b", b)])):
        client = Client(port)
        counts = {"a": 0, "b": 0}
        for _ in range(2000):
            status, _, body = client.request("GET", "/")
            assert status == 200
            counts[json.loads(body)["backend"]] += 1
        assert abs(counts["a"] / 2000 - 0.80) <= 0.03, counts


def test_forwarded_request_carries_proxy_headers_and_no_hop_by_hop(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    behaviour = Behaviour("a")
    a = backends.start(behaviour)
    with running(tmp_path, config(port, [forward("r", "a")], [cluster("a", a)])):
        client = Client(port)
        status, _, _ = client.request(
            "GET",
            "/p",
            headers={
                "Connection": "keep-alive, X-Secret-Hop",
                "X-Secret-Hop": "1",
                "Keep-Alive": "timeout=5",
                "TE": "trailers",
                "Proxy-Authorization": "Basic x",
                "X-Forwarded-For": "203.0.113.9",
            },
        )
        assert status == 200
        seen = behaviour.seen[-1].headers
        for hop in ("connection", "x-secret-hop", "keep-alive", "te", "proxy-authorization"):
            assert hop not in seen
        assert seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
        assert seen["x-forwarded-proto"] == "http"
        assert len(seen["traceparent"].split("-")) == 4
        assert seen["x-request-id"]
