"""HTTPRoute matches and filters carry over to meshgate's rules field for field (path, header,
query and method matches; header modifiers; redirects; URL rewrites; mirrors; timeouts), and
what meshgate cannot do refuses the route with Accepted=False, reason UnsupportedValue."""

from __future__ import annotations

from typing import Any

import pytest
from gwapi_kit import (
    backend,
    gateway,
    gateway_class,
    http_route,
    parent_condition,
    rule,
    run,
    service,
    status,
)

from meshgate.compile import compile_snapshot

BASE = [gateway_class(), gateway(), service(), service("mirror")]


def _routes(*rules: dict[str, Any]) -> list[Any]:
    adapted, snap = run([*BASE, http_route(rules=list(rules))])
    assert parent_condition(status(adapted, "HTTPRoute", "web"), "Accepted") == (
        "True",
        "Accepted",
    )
    (gw,) = compile_snapshot(snap).gateways
    return list(gw.config.listeners[0].virtual_hosts[0].routes)


def test_matches_carry_over() -> None:
    match = {
        "path": {"type": "Exact", "value": "/v1/orders"},
        "headers": [{"type": "Exact", "name": "X-Version", "value": "2"}],
        "queryParams": [{"type": "Exact", "name": "debug", "value": "1"}],
        "method": "POST",
    }
    (route,) = _routes(rule(backend(), matches=[match]))
    m = route.match
    assert (m.path.type, m.path.value, m.method) == ("Exact", "/v1/orders", "POST")
    assert [(h.name, h.value) for h in m.headers] == [("x-version", "2")]
    assert [(q.name, q.value) for q in m.query_params] == [("debug", "1")]


def test_filters_and_timeouts_carry_over() -> None:
    filters = [
        {
            "type": "RequestHeaderModifier",
            "requestHeaderModifier": {"set": [{"name": "x-a", "value": "1"}]},
        },
        {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"remove": ["server"]}},
        {"type": "URLRewrite", "urlRewrite": {"hostname": "internal.example.com"}},
        {
            "type": "RequestMirror",
            "requestMirror": {"backendRef": backend("mirror"), "percent": 10},
        },
        {
            "type": "RequestMirror",
            "requestMirror": {
                "backendRef": backend("web"),
                "fraction": {"numerator": 1, "denominator": 4},
            },
        },
    ]
    timeouts = {"request": "10s", "backendRequest": "2s"}
    (route,) = _routes(rule(backend(), filters=filters, timeouts=timeouts))
    assert route.request_headers is not None
    assert route.request_headers.set == {"x-a": "1"}
    assert route.response_headers is not None
    assert route.response_headers.remove == ["server"]
    fwd = route.forward
    assert fwd is not None
    assert fwd.rewrite is not None
    assert fwd.rewrite.hostname == "internal.example.com"
    assert [(m.cluster, m.percent) for m in fwd.mirrors] == [
        ("shop/mirror:8080", 10),
        ("shop/web:8080", 25),
    ]
    assert fwd.timeout == 2.0  # the per-attempt bound is the tighter one without retries


def test_redirect_carries_over() -> None:
    redirect = {"scheme": "https", "hostname": "example.com", "port": 8443, "statusCode": 301}
    (route,) = _routes(rule(filters=[{"type": "RequestRedirect", "requestRedirect": redirect}]))
    assert route.redirect is not None
    r = route.redirect
    assert (r.scheme, r.hostname, r.port, r.status_code) == ("https", "example.com", 8443, 301)


SET_BACKEND = {
    "type": "RequestHeaderModifier",
    "requestHeaderModifier": {"set": [{"name": "Backend", "value": "web"}]},
}


def test_backend_header_filters_reach_only_their_weighted_cluster() -> None:
    add_served_by = {
        "type": "ResponseHeaderModifier",
        "responseHeaderModifier": {"add": [{"name": "X-Served-By", "value": "web"}]},
    }
    (route,) = _routes(rule(backend(filters=[SET_BACKEND, add_served_by]), backend("mirror")))
    assert route.forward is not None
    by_cluster = {c.cluster: c for c in route.forward.clusters}
    web, mirror = by_cluster["shop/web:8080"], by_cluster["shop/mirror:8080"]
    assert web.request_headers is not None
    assert web.request_headers.set == {"Backend": "web"}
    assert web.response_headers is not None
    assert web.response_headers.add == {"X-Served-By": "web"}
    assert (mirror.request_headers, mirror.response_headers) == (None, None)
    assert route.request_headers is None  # not the rule's: only that backend's


@pytest.mark.parametrize(
    "bad_rule",
    [
        rule(
            backend(),
            filters=[
                {
                    "type": "ExtensionRef",
                    "extensionRef": {"group": "x.io", "kind": "F", "name": "f"},
                }
            ],
        ),
        rule(backend(filters=[{"type": "URLRewrite", "urlRewrite": {"hostname": "x.test"}}])),
        rule(
            backend(
                filters=[
                    {"type": "RequestMirror", "requestMirror": {"backendRef": backend("mirror")}}
                ]
            )
        ),
        # the proxy keys a backend's filters by its cluster: one Service port, one set of filters
        rule(backend(filters=[SET_BACKEND]), backend()),
        rule(backend(), sessionPersistence={"type": "Cookie"}),
    ],
    ids=[
        "extension-ref",
        "url-rewrite-on-a-backend",
        "mirror-on-a-backend",
        "same-port-twice",
        "session-persistence",
    ],
)
def test_what_meshgate_cannot_do_refuses_the_route(bad_rule: dict[str, Any]) -> None:
    adapted, _snap = run([*BASE, http_route(rules=[bad_rule])])
    assert parent_condition(status(adapted, "HTTPRoute", "web"), "Accepted") == (
        "False",
        "UnsupportedValue",
    )
    assert adapted.routes == ()
