"""TLSRoutes on TLS listeners in Passthrough mode: attached as the Gateway API says, compiled
into the gateway's passthrough listener (hostnames are SNI names); what is not served (TCP
listeners, TLS listeners that would terminate, HTTPRoutes on a TLS listener, TLSRoutes on an
HTTP one) gets the Gateway API's status reason."""

from __future__ import annotations

from typing import Any

from gwapi_kit import (
    NS,
    backend,
    condition,
    gateway,
    gateway_class,
    http_route,
    listener,
    listener_status,
    parent,
    parent_condition,
    run,
    service,
    status,
)

from meshgate.compile import compile_snapshot
from meshproxy import config as pc

V1 = "gateway.networking.k8s.io/v1"
PASSTHROUGH = {"tls": {"mode": "Passthrough"}}


def tls_route(
    name: str, hostnames: list[str], *backends: dict[str, Any], section: str = "tls"
) -> dict[str, Any]:
    return {
        "apiVersion": V1,
        "kind": "TLSRoute",
        "metadata": {
            "name": name,
            "namespace": NS,
            "generation": 1,
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {
            "parentRefs": [parent(sectionName=section)],
            "hostnames": hostnames,
            "rules": [{"backendRefs": list(backends)}],
        },
    }


def _gateway(*extra: dict[str, Any]) -> dict[str, Any]:
    return gateway(
        "edge",
        listener("tls", 443, "TLS", **PASSTHROUGH),
        listener("http", 80, "HTTP"),
        *extra,
    )


def test_tls_routes_become_sni_routes_of_the_gateways_passthrough_listener() -> None:
    adapted, snap = run(
        [
            gateway_class(),
            _gateway(),
            service("db", port=5432),
            service("search", port=9200),
            tls_route("db", ["db.example.com"], backend("db", 5432)),
            tls_route("search", ["*.search.example.com"], backend("search", 9200, weight=3)),
        ]
    )
    for name in ("db", "search"):
        body = status(adapted, "TLSRoute", name)
        assert parent_condition(body, "Accepted") == ("True", "Accepted")
        assert parent_condition(body, "ResolvedRefs") == ("True", "ResolvedRefs")
    gw = status(adapted, "Gateway", "edge")
    tls = listener_status(gw, "tls")
    assert tls["supportedKinds"] == [{"group": "gateway.networking.k8s.io", "kind": "TLSRoute"}]
    assert tls["attachedRoutes"] == 2
    assert condition(tls["conditions"], "Accepted") == ("True", "Accepted")

    (compiled,) = compile_snapshot(snap).gateways
    by_port = {ln.port: ln for ln in compiled.config.listeners}
    passthrough = by_port[443].passthrough
    assert isinstance(passthrough, pc.Passthrough)
    assert passthrough.protocol == "TLS"
    assert [(r.sni, [c.cluster for c in r.clusters]) for r in passthrough.routes] == [
        (["db.example.com"], [f"passthrough:{NS}/db:5432"]),
        (["*.search.example.com"], [f"passthrough:{NS}/search:9200"]),
    ]
    assert not isinstance(by_port[80].passthrough, pc.Passthrough)  # HTTP stays HTTP
    clusters = {c.name: c for c in compiled.config.clusters}
    assert clusters[f"passthrough:{NS}/db:5432"].tls.mode == "DISABLE"


def test_an_http_route_on_a_tls_listener_and_a_tls_route_on_an_http_one_are_not_allowed() -> None:
    adapted, _ = run(
        [
            gateway_class(),
            _gateway(),
            service("db", port=5432),
            http_route("web", parents=[parent(sectionName="tls")]),
            tls_route("db", ["db.example.com"], backend("db", 5432), section="http"),
        ]
    )
    web = status(adapted, "HTTPRoute", "web")
    assert parent_condition(web, "Accepted") == ("False", "NotAllowedByListeners")
    db = status(adapted, "TLSRoute", "db")
    assert parent_condition(db, "Accepted") == ("False", "NotAllowedByListeners")


def test_tcp_listeners_are_unsupported_and_tls_ones_that_terminate_an_unsupported_value() -> None:
    adapted, _ = run(
        [
            gateway_class(),
            gateway(
                "edge",
                listener("tcp", 5432, "TCP"),
                listener("tls", 443, "TLS", tls={"mode": "Terminate"}),
                listener("http", 80, "HTTP"),
            ),
        ]
    )
    gw = status(adapted, "Gateway", "edge")
    for name, reason in (("tcp", "UnsupportedProtocol"), ("tls", "UnsupportedValue")):
        entry = listener_status(gw, name)
        assert condition(entry["conditions"], "Accepted") == ("False", reason)
        assert entry["supportedKinds"] == []
    assert condition(gw["conditions"], "Accepted") == ("True", "ListenersNotValid")


def test_a_tls_listener_asked_for_http_routes_reports_invalid_route_kinds() -> None:
    kinds = {"allowedRoutes": {"kinds": [{"kind": "HTTPRoute"}], "namespaces": {"from": "Same"}}}
    adapted, _ = run(
        [gateway_class(), gateway("edge", listener("tls", 443, "TLS", **PASSTHROUGH, **kinds))]
    )
    entry = listener_status(status(adapted, "Gateway", "edge"), "tls")
    assert condition(entry["conditions"], "ResolvedRefs") == ("False", "InvalidRouteKinds")
    assert entry["supportedKinds"] == []
