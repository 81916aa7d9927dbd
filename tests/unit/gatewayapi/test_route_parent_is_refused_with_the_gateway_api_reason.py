"""Each way a parentRef can miss gives the Gateway API's reason: NoMatchingParent (sectionName
or port matches no listener), NotAllowedByListeners (namespaces or kinds), and
NoMatchingListenerHostname; a refused route is not served and counts on no listener."""

from __future__ import annotations

from typing import Any

import pytest
from gwapi_kit import (
    gateway,
    gateway_class,
    http_route,
    listener,
    listener_status,
    namespace,
    parent,
    parent_condition,
    run,
    service,
    status,
)


def _verdict(
    docs: list[dict[str, Any]], route: str = "web", ns: str = "shop"
) -> tuple[str, str, int]:
    adapted, _ = run([gateway_class(), service(), service(namespace="other"), *docs])
    accepted = parent_condition(status(adapted, "HTTPRoute", route, ns), "Accepted")
    attached = sum(x["attachedRoutes"] for x in status(adapted, "Gateway", "edge")["listeners"])
    assert attached == (1 if accepted[0] == "True" else 0)
    if accepted[0] == "False":
        assert not [r for r in adapted.routes if r.meta.name == f"httproute:{route}"]
    return accepted[0], accepted[1], attached


NAMESPACES = [namespace("shop"), namespace("other", team="blue")]


@pytest.mark.parametrize(
    ("parent_ref", "want"),
    [
        (parent(sectionName="http"), ("True", "Accepted", 1)),
        (parent(sectionName="https"), ("False", "NoMatchingParent", 0)),
        (parent(port=80), ("True", "Accepted", 1)),
        (parent(port=8080), ("False", "NoMatchingParent", 0)),
        (parent(sectionName="http", port=8080), ("False", "NoMatchingParent", 0)),
    ],
)
def test_section_name_and_port_pick_listeners(parent_ref: dict[str, Any], want: Any) -> None:
    assert _verdict([gateway(), http_route(parents=[parent_ref])]) == want


@pytest.mark.parametrize(
    ("allowed", "want"),
    [
        ({"namespaces": {"from": "Same"}}, ("False", "NotAllowedByListeners", 0)),
        ({"namespaces": {"from": "All"}}, ("True", "Accepted", 1)),
        (
            {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "blue"}}}},
            ("True", "Accepted", 1),
        ),
        (
            {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "red"}}}},
            ("False", "NotAllowedByListeners", 0),
        ),
        (
            {
                "namespaces": {
                    "from": "Selector",
                    "selector": {
                        "matchExpressions": [{"key": "team", "operator": "In", "values": ["blue"]}]
                    },
                }
            },
            ("True", "Accepted", 1),
        ),
        (
            {"namespaces": {"from": "All"}, "kinds": [{"kind": "GRPCRoute"}]},
            ("False", "NotAllowedByListeners", 0),
        ),
    ],
)
def test_allowed_routes_decide_which_namespaces_and_kinds_attach(
    allowed: dict[str, Any], want: Any
) -> None:
    gw = gateway("edge", listener(allowedRoutes=allowed))
    route = http_route(parents=[parent(namespace="shop")], namespace="other")
    assert _verdict([*NAMESPACES, gw, route], ns="other") == want


@pytest.mark.parametrize(
    ("listener_host", "route_hosts", "want"),
    [
        ("shop.example.com", ["shop.example.com"], ("True", "Accepted", 1)),
        ("*.example.com", ["shop.example.com"], ("True", "Accepted", 1)),
        ("shop.example.com", ["*.example.com"], ("True", "Accepted", 1)),
        ("shop.example.com", ["other.example.org"], ("False", "NoMatchingListenerHostname", 0)),
        ("*.example.com", ["example.com"], ("False", "NoMatchingListenerHostname", 0)),
    ],
)
def test_hostnames_must_intersect(listener_host: str, route_hosts: list[str], want: Any) -> None:
    gw = gateway("edge", listener(hostname=listener_host))
    assert _verdict([gw, http_route(hostnames=route_hosts)]) == want


def test_route_accepted_by_one_of_two_listeners_counts_on_that_one_only() -> None:
    gw = gateway(
        "edge",
        listener("a", 80, hostname="a.example.com"),
        listener("b", 8080, hostname="b.example.com"),
    )
    adapted, _ = run([gateway_class(), service(), gw, http_route(hostnames=["a.example.com"])])
    body = status(adapted, "Gateway", "edge")
    assert listener_status(body, "a")["attachedRoutes"] == 1
    assert listener_status(body, "b")["attachedRoutes"] == 0
    (route,) = adapted.routes
    assert route.spec is not None
    assert route.spec.parent_refs is not None
    assert [p.section_name for p in route.spec.parent_refs] == ["a"]


def test_parent_ref_to_a_gateway_of_no_meshgate_class_gets_no_entry() -> None:
    docs = [gateway_class(), service(), gateway(), gateway("theirs", class_name="other")]
    route = http_route(parents=[parent(), parent("theirs"), parent("missing")])
    adapted, _ = run([*docs, route])
    (entry,) = status(adapted, "HTTPRoute", "web")["parents"]
    assert entry["parentRef"]["name"] == "edge"
