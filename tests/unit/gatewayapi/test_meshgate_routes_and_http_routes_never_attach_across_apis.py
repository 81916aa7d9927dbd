"""A meshgate Route never attaches to a Gateway API Gateway (whose listeners admit only what
the Gateway API's rules allow), nor an HTTPRoute to a meshgate Gateway; both kinds of Gateway
serve side by side. A standard Gateway that shares a namespace and name with a meshgate Gateway
is refused: their generated objects would collide."""

from __future__ import annotations

from typing import Any

from gwapi_kit import condition, gateway, gateway_class, http_route, parent, run, service, status

from meshgate.compile import compile_snapshot


def _meshgate_gateway(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "meshgate.io/v1alpha1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": "shop", "generation": 1},
        "spec": {"listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}]},
    }


def _meshgate_route(name: str, gateway: str) -> dict[str, Any]:
    return {
        "apiVersion": "meshgate.io/v1alpha1",
        "kind": "Route",
        "metadata": {"name": name, "namespace": "shop", "generation": 1},
        "spec": {
            "parentRefs": [{"name": gateway}],
            "rules": [{"backendRefs": [{"name": "web", "port": 8080}]}],
        },
    }


def _sources(result: Any) -> dict[str, list[str]]:
    return {
        gw.gateway.name: sorted(
            r.source for ln in gw.config.listeners for vh in ln.virtual_hosts for r in vh.routes
        )
        for gw in result.gateways
    }


def test_each_api_routes_only_to_its_own_gateways() -> None:
    docs = [
        gateway_class(),
        service(),
        gateway("standard"),
        _meshgate_gateway("native"),
        http_route("h", parents=[parent("standard"), parent("native")]),
        _meshgate_route("m", "standard"),
        _meshgate_route("n", "native"),
    ]
    _, snap = run(docs)
    assert _sources(compile_snapshot(snap)) == {
        "native": ["shop/n"],
        "standard": ["shop/httproute:h"],
    }


def test_standard_gateway_named_like_a_meshgate_gateway_is_refused() -> None:
    docs = [gateway_class(), service(), gateway("edge"), _meshgate_gateway("edge"), http_route()]
    adapted, snap = run(docs)
    body = status(adapted, "Gateway", "edge")
    assert condition(body["conditions"], "Accepted") == ("False", "Invalid")
    assert adapted.gateways == ()
    route = status(adapted, "HTTPRoute", "web")
    assert condition(route["parents"][0]["conditions"], "Accepted")[0] == "False"
    assert [g.gateway.name for g in compile_snapshot(snap).gateways] == ["edge"]
