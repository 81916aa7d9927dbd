"""The path index picks exactly the route an in-order scan of the virtual host would pick.

The scan is the definition (the first route in config order whose conditions all hold); the index
(exact dict, prefix trie, regexes last) must agree for any route set and any request, including
orders the operator would never emit (a short prefix before a long one, a regex before an exact).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meshproxy import config
from meshproxy.policy.routing import CompiledRoute, RouteTable, _parse_query

SEGMENTS = st.sampled_from(["a", "b", "ab", "a.b", ""])
REQUEST_PATHS = st.lists(SEGMENTS, max_size=4).map(lambda segs: "/" + "/".join(segs))
ROUTE_PATH_VALUES = st.one_of(REQUEST_PATHS, REQUEST_PATHS.map(lambda p: p.rstrip("/") + "/"))
REGEXES = st.sampled_from(["/a.*", "/b/[^/]+", ".*", "/ab?", "/a/b"])


def path_condition() -> st.SearchStrategy[dict[str, str] | None]:
    return st.one_of(
        st.none(),
        st.fixed_dictionaries({"type": st.just("Exact"), "value": REQUEST_PATHS}),
        st.fixed_dictionaries({"type": st.just("PathPrefix"), "value": ROUTE_PATH_VALUES}),
        st.fixed_dictionaries({"type": st.just("RegularExpression"), "value": REGEXES}),
    )


HEADER_CONDITIONS = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["x-a", "X-B"]),
            "type": st.sampled_from(["Exact", "Present", "RegularExpression"]),
            "value": st.sampled_from(["1", "2", "[12]"]),
            "invert": st.booleans(),
        }
    ),
    max_size=2,
)
QUERY_CONDITIONS = st.lists(
    st.fixed_dictionaries({"name": st.just("q"), "value": st.sampled_from(["1", "2"])}),
    max_size=1,
)


MATCHES = st.fixed_dictionaries(
    {"headers": HEADER_CONDITIONS, "queryParams": QUERY_CONDITIONS},
    optional={
        "path": path_condition().filter(lambda p: p is not None),
        "method": st.sampled_from(["GET", "POST"]),
    },
)


def routes_from(matches: list[dict[str, Any]]) -> list[config.Route]:
    return [
        config.Route.from_data(
            {"name": f"r{i}", "match": match, "forward": {"clusters": [{"cluster": "c"}]}}
        )
        for i, match in enumerate(matches)
    ]


REQUESTS = st.tuples(
    st.sampled_from(["GET", "POST"]),
    REQUEST_PATHS,
    st.sampled_from(["", "q=1", "q=2", "q=1&q=2"]),
    st.dictionaries(st.sampled_from(["x-a", "x-b"]), st.sampled_from(["1", "2", "3"])),
)


def scanned(
    in_order: list[CompiledRoute], method: str, path: str, query: str, headers: dict[str, str]
) -> str | None:
    params = _parse_query(query)
    for compiled in in_order:
        if compiled.matches(method, path, headers, params):
            return compiled.name
    return None


@settings(max_examples=300, deadline=None)
@given(st.lists(MATCHES, max_size=20), st.lists(REQUESTS, min_size=1, max_size=12))
def test_index_and_scan_choose_the_same_route(
    matches: list[dict[str, Any]], requests: list[tuple[str, str, str, dict[str, str]]]
) -> None:
    route_set = routes_from(matches)
    table = RouteTable.compile([config.VirtualHost(name="v", domains=["*"], routes=route_set)])
    in_order = [CompiledRoute(r, "v", order) for order, r in enumerate(route_set)]
    for method, path, query, headers in requests:
        found = table.match("h", method, path, query, headers)
        assert (None if found is None else found.name) == scanned(
            in_order, method, path, query, headers
        )


def test_a_regex_ordered_before_an_exact_path_still_wins() -> None:
    route_set = [
        config.Route.from_data(
            {
                "name": name,
                "match": {"path": path},
                "forward": {"clusters": [{"cluster": "c"}]},
            }
        )
        for name, path in [
            ("regex", {"type": "RegularExpression", "value": "/a/.*"}),
            ("exact", {"type": "Exact", "value": "/a/b"}),
            ("prefix", {"type": "PathPrefix", "value": "/a/b"}),
        ]
    ]
    table = RouteTable.compile([config.VirtualHost(name="v", domains=["*"], routes=route_set)])
    found = table.match("h", "GET", "/a/b", "", {})
    assert found is not None
    assert found.name == "regex"
    found = table.match("h", "GET", "/a", "", {})
    assert found is None


def test_prefix_routes_match_only_whole_segments_among_thousands() -> None:
    route_set = [
        config.Route.from_data(
            {
                "name": f"r{i}",
                "match": {"path": {"type": "PathPrefix", "value": f"/svc{i}"}},
                "forward": {"clusters": [{"cluster": "c"}]},
            }
        )
        for i in range(5000)
    ]
    table = RouteTable.compile([config.VirtualHost(name="v", domains=["*"], routes=route_set)])
    for path, want in [("/svc4999/x", "r4999"), ("/svc1", "r1"), ("/svc10", "r10")]:
        found = table.match("h", "GET", path, "", {})
        assert found is not None
        assert found.name == want
    assert table.match("h", "GET", "/svc5000", "", {}) is None
