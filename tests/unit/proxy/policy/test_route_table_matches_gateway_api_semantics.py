"""RouteTable: host, path, header, query and method matching; weights; rewrites; redirects."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshproxy import config
from meshproxy.policy.routing import RouteTable


def route(name: str, **spec: Any) -> config.Route:
    spec.setdefault("forward", {"clusters": [{"cluster": "c"}]})
    return config.Route.from_data({"name": name, **spec})


def vhost(name: str, domains: list[str], *routes: config.Route) -> config.VirtualHost:
    return config.VirtualHost(name=name, domains=domains, routes=list(routes))


def matched(
    table: RouteTable,
    path: str = "/",
    *,
    host: str = "example.com",
    method: str = "GET",
    query: str = "",
    headers: dict[str, str] | None = None,
) -> str | None:
    found = table.match(host, method, path, query, headers or {})
    return None if found is None else found.name


# --- hosts ----------------------------------------------------------------------------------


HOSTS = RouteTable.compile(
    [
        vhost("exact", ["api.example.com"], route("exact")),
        vhost("ported", ["api.example.com:8443"], route("ported")),
        vhost("wide", ["*.example.com"], route("wide")),
        vhost("narrow", ["*.eu.example.com"], route("narrow")),
        vhost("any", ["*"], route("any")),
    ]
)


@pytest.mark.parametrize(
    ("host", "want"),
    [
        ("api.example.com", "exact"),
        ("api.example.com:80", "exact"),
        ("api.example.com:8443", "ported"),
        ("www.example.com", "wide"),
        ("www.example.com:8080", "wide"),
        ("a.eu.example.com", "narrow"),
        ("a.b.eu.example.com", "narrow"),
        ("eu.example.com", "wide"),
        ("example.com", "any"),
        ("evil-example.com", "any"),
        ("[::1]:8080", "any"),
    ],
)
def test_host_picks_exact_then_longest_wildcard_then_any(host: str, want: str) -> None:
    assert matched(HOSTS, host=host) == want


def test_unknown_host_without_catch_all_vhost_matches_nothing() -> None:
    table = RouteTable.compile([vhost("one", ["a.example.com"], route("r"))])
    assert matched(table, host="b.example.com") is None
    assert matched(table, host="a.example.com") == "r"


def test_domain_in_two_vhosts_belongs_to_the_first() -> None:
    table = RouteTable.compile(
        [vhost("first", ["a.com"], route("first")), vhost("second", ["a.com"], route("second"))]
    )
    assert matched(table, host="a.com") == "first"


# --- paths, methods, headers, query --------------------------------------------------------


PATHS = RouteTable.compile(
    [
        vhost(
            "v",
            ["*"],
            route("exact", match={"path": {"type": "Exact", "value": "/login"}}),
            route("regex", match={"path": {"type": "RegularExpression", "value": r"/u/\d+"}}),
            route("prefix", match={"path": {"type": "PathPrefix", "value": "/v1"}}),
            route("slash-prefix", match={"path": {"type": "PathPrefix", "value": "/docs/"}}),
            route("post-only", match={"path": {"value": "/submit"}, "method": "post"}),
        )
    ]
)


@pytest.mark.parametrize(
    ("method", "path", "want"),
    [
        ("GET", "/login", "exact"),
        ("GET", "/login/", None),
        ("GET", "/u/42", "regex"),
        ("GET", "/u/42/x", None),
        ("GET", "/x/u/42", None),
        ("GET", "/v1", "prefix"),
        ("GET", "/v1/", "prefix"),
        ("GET", "/v1/users", "prefix"),
        ("GET", "/v10", None),
        ("GET", "/docs", "slash-prefix"),
        ("GET", "/docs/a", "slash-prefix"),
        ("GET", "/docsy", None),
        ("POST", "/submit", "post-only"),
        ("GET", "/submit", None),
    ],
)
def test_path_and_method_conditions(method: str, path: str, want: str | None) -> None:
    assert matched(PATHS, path, method=method) == want


HEADERS = RouteTable.compile(
    [
        vhost(
            "v",
            ["*"],
            route("canary", match={"headers": [{"name": "X-Canary", "value": "yes"}]}),
            route(
                "mobile",
                match={
                    "headers": [
                        {"name": "user-agent", "type": "RegularExpression", "value": ".*Mobile.*"}
                    ]
                },
            ),
            route("traced", match={"headers": [{"name": "x-trace", "type": "Present"}]}),
            route(
                "not-internal",
                match={"headers": [{"name": "x-zone", "value": "internal", "invert": True}]},
            ),
            route("rest"),
        )
    ]
)


@pytest.mark.parametrize(
    ("headers", "want"),
    [
        ({"x-canary": "yes"}, "canary"),
        ({"x-canary": "no", "x-zone": "internal"}, "rest"),
        ({"user-agent": "Foo Mobile Bar", "x-zone": "internal"}, "mobile"),
        ({"x-trace": "", "x-zone": "internal"}, "traced"),
        ({"x-zone": "internal"}, "rest"),
        ({"x-zone": "public"}, "not-internal"),
        ({}, "not-internal"),  # invert negates the whole condition, absence included
    ],
)
def test_header_conditions(headers: dict[str, str], want: str) -> None:
    assert matched(HEADERS, headers=headers) == want


QUERY = RouteTable.compile(
    [
        vhost(
            "v",
            ["*"],
            route("beta", match={"queryParams": [{"name": "beta", "value": "on"}]}),
            route(
                "paged",
                match={
                    "queryParams": [{"name": "page", "type": "RegularExpression", "value": r"\d+"}]
                },
            ),
            route("debug", match={"queryParams": [{"name": "debug", "type": "Present"}]}),
            route("rest"),
        )
    ]
)


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("beta=on", "beta"),
        ("x=1&beta=on", "beta"),
        ("beta=%6Fn", "beta"),
        ("beta=off&beta=on", "rest"),  # the first occurrence counts
        ("page=12", "paged"),
        ("page=12a", "rest"),
        ("debug", "debug"),
        ("", "rest"),
    ],
)
def test_query_conditions(query: str, want: str) -> None:
    assert matched(QUERY, query=query) == want


def test_routes_are_tried_in_config_order() -> None:
    table = RouteTable.compile(
        [vhost("v", ["*"], route("first"), route("never", match={"path": {"value": "/a"}}))]
    )
    assert matched(table, "/a") == "first"


def test_every_condition_must_hold() -> None:
    table = RouteTable.compile(
        [
            vhost(
                "v",
                ["*"],
                route(
                    "all",
                    match={
                        "path": {"value": "/api"},
                        "method": "GET",
                        "headers": [{"name": "x-a", "value": "1"}],
                        "queryParams": [{"name": "q", "value": "1"}],
                    },
                ),
            )
        ]
    )
    assert matched(table, "/api", headers={"x-a": "1"}, query="q=1") == "all"
    assert matched(table, "/web", headers={"x-a": "1"}, query="q=1") is None
    assert matched(table, "/api", method="PUT", headers={"x-a": "1"}, query="q=1") is None
    assert matched(table, "/api", headers={"x-a": "2"}, query="q=1") is None
    assert matched(table, "/api", headers={"x-a": "1"}, query="q=2") is None


def test_single_catch_all_route_is_returned_for_any_request() -> None:
    table = RouteTable.compile([vhost("v", ["*"], route("only"))])
    assert matched(table, "/anything/at/all", method="DELETE", query="x=1") == "only"


def test_bad_regex_fails_at_compile_naming_the_route() -> None:
    bad = route("broken", match={"path": {"type": "RegularExpression", "value": "("}})
    with pytest.raises(ValueError, match="broken"):
        RouteTable.compile([vhost("v", ["*"], bad)])


# --- weights ---------------------------------------------------------------------------------


def weighted(*weights: tuple[str, int]) -> Any:
    forward = {"clusters": [{"cluster": c, "weight": w} for c, w in weights]}
    table = RouteTable.compile([vhost("v", ["*"], route("w", forward=forward))])
    found = table.match("h", "GET", "/", "", {})
    assert found is not None
    return found


def test_pick_cluster_by_cumulative_weight() -> None:
    found = weighted(("a", 1), ("zero", 0), ("b", 3))
    assert found.pick_cluster(0.0) == "a"
    assert found.pick_cluster(0.2499) == "a"
    assert found.pick_cluster(0.25) == "b"
    assert found.pick_cluster(0.9999999) == "b"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=5))
def test_weighted_pick_follows_weights_over_a_uniform_grid(weights: list[int]) -> None:
    found = weighted(*((f"c{i}", w) for i, w in enumerate(weights)))
    steps = 50 * sum(weights)
    # Midpoints of the grid: every cell lies strictly inside one cluster's share.
    counts = Counter(found.pick_cluster((i + 0.5) / steps) for i in range(steps))
    assert counts == {f"c{i}": 50 * w for i, w in enumerate(weights)}


# --- rewrites and redirects ------------------------------------------------------------------


def rewriting(prefix: str, rewrite: dict[str, Any]) -> Any:
    forward = {"clusters": [{"cluster": "c"}], "rewrite": rewrite}
    table = RouteTable.compile(
        [vhost("v", ["*"], route("rw", match={"path": {"value": prefix}}, forward=forward))]
    )
    found = table.match("h", "GET", prefix if prefix != "/" else "/", "", {})
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("path", "prefix", "replacement", "want"),
    [  # the table of the Gateway API's HTTPPathModifier.ReplacePrefixMatch
        ("/foo/bar", "/foo", "/xyz", "/xyz/bar"),
        ("/foo/bar", "/foo", "/xyz/", "/xyz/bar"),
        ("/foo/bar", "/foo/", "/xyz", "/xyz/bar"),
        ("/foo/bar", "/foo/", "/xyz/", "/xyz/bar"),
        ("/foo", "/foo", "/xyz", "/xyz"),
        ("/foo/", "/foo", "/xyz", "/xyz/"),
        ("/foo/bar", "/foo", "", "/bar"),
        ("/foo/", "/foo", "", "/"),
        ("/foo", "/foo", "", "/"),
        ("/foo/", "/foo", "/", "/"),
        ("/foo", "/foo", "/", "/"),
        ("/a/b", "/", "/root", "/root/a/b"),
    ],
)
def test_replace_prefix_match(path: str, prefix: str, replacement: str, want: str) -> None:
    found = rewriting(prefix, {"path": {"type": "ReplacePrefixMatch", "value": replacement}})
    assert found.rewrite_path(path) == want


def test_replace_full_path_and_host_rewrite() -> None:
    found = rewriting(
        "/old", {"hostname": "new.internal", "path": {"type": "ReplaceFullPath", "value": "/new"}}
    )
    assert found.rewrite_path("/old/deep/path") == "/new"
    assert found.rewrite_host == "new.internal"


def test_route_without_rewrite_keeps_path_and_host() -> None:
    found = weighted(("a", 1))
    assert found.rewrite_path("/keep") == "/keep"
    assert found.rewrite_host is None
    assert found.redirect_location("http", "h", "/", "") is None


def test_replace_prefix_with_regex_match_is_refused_at_compile() -> None:
    bad = route(
        "rx",
        match={"path": {"type": "RegularExpression", "value": "/a.*"}},
        forward={
            "clusters": [{"cluster": "c"}],
            "rewrite": {"path": {"type": "ReplacePrefixMatch", "value": "/b"}},
        },
    )
    with pytest.raises(ValueError, match="rx"):
        RouteTable.compile([vhost("v", ["*"], bad)])


@pytest.mark.parametrize(
    ("redirect", "scheme", "host", "path", "query", "want"),
    [
        ({"scheme": "https"}, "http", "a.com", "/p", "", "https://a.com/p"),
        ({"scheme": "https"}, "http", "a.com:8080", "/p", "x=1", "https://a.com/p?x=1"),
        ({"scheme": "https", "port": 8443}, "http", "a.com", "/p", "", "https://a.com:8443/p"),
        ({"port": 443, "scheme": "https"}, "http", "a.com", "/p", "", "https://a.com/p"),
        ({"hostname": "b.com"}, "http", "a.com:8080", "/p", "", "http://b.com:8080/p"),
        ({"hostname": "b.com"}, "http", "a.com:80", "/p", "", "http://b.com/p"),
        ({"port": 80}, "https", "a.com", "/p", "", "https://a.com:80/p"),
        ({"scheme": "http"}, "https", "[::1]:8443", "/p", "", "http://[::1]/p"),
        (
            {"path": {"type": "ReplaceFullPath", "value": "/new"}},
            "http",
            "a.com",
            "/old/x",
            "q=1",
            "http://a.com/new?q=1",
        ),
        (
            {"path": {"type": "ReplacePrefixMatch", "value": "/v2"}},
            "http",
            "a.com",
            "/v1/users",
            "",
            "http://a.com/v2/users",
        ),
    ],
)
def test_redirect_location(
    redirect: dict[str, Any], scheme: str, host: str, path: str, query: str, want: str
) -> None:
    table = RouteTable.compile(
        [
            vhost(
                "v",
                ["*"],
                route("r", match={"path": {"value": "/v1"}}, forward=None, redirect=redirect)
                if "path" in redirect and redirect["path"]["type"] == "ReplacePrefixMatch"
                else route("r", forward=None, redirect=redirect),
            )
        ]
    )
    found = table.match(host, "GET", path, query, {})
    assert found is not None
    assert found.redirect_location(scheme, host, path, query) == want


def test_header_modifiers_are_compiled_onto_the_route() -> None:
    table = RouteTable.compile(
        [
            vhost(
                "v",
                ["*"],
                route(
                    "h",
                    requestHeaders={"set": {"x-env": "prod"}},
                    responseHeaders={"remove": ["server"]},
                ),
            )
        ]
    )
    found = table.match("h", "GET", "/", "", {})
    assert found is not None
    assert found.request_headers is not None
    assert found.response_headers is not None
    assert found.request_headers.apply([("X-Env", "dev")]) == [("x-env", "prod")]
    assert found.response_headers.apply([("Server", "x"), ("a", "b")]) == [("a", "b")]
