"""An HTTPRoute whose parentRef is a Service (the Gateway API's mesh profile) is compiled, by the
same compiler, into the sidecar config as a meshgate mesh Route is: a producer route applies to
every client namespace, a consumer route only to its own namespace's clients, a parentRef `port`
covers that Service port only; the route's parent entry reports it."""

from __future__ import annotations

from typing import Any

from gwapi_kit import backend, http_route, namespace, parent_condition, run, status

from meshgate.compile import compile_snapshot
from meshproxy import config as pc

MESH, CONSUMER = "mesh", "consumer"


def echo_service(name: str, ns: str = MESH) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "selector": {"app": name},
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080},
                {"name": "http-alt", "port": 8080, "targetPort": 8080},
            ],
        },
    }


def service_parent(name: str, ns: str | None = None, port: int | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"group": "", "kind": "Service", "name": name}
    if ns is not None:
        ref["namespace"] = ns
    if port is not None:
        ref["port"] = port
    return ref


def header_rule(value: str, to: str, ns: str | None = None) -> dict[str, Any]:
    ref = backend(to, port=80)
    if ns is not None:
        ref["namespace"] = ns
    return {
        "filters": [
            {
                "type": "ResponseHeaderModifier",
                "responseHeaderModifier": {"set": [{"name": "X-Header-Set", "value": value}]},
            }
        ],
        "backendRefs": [ref],
    }


BASE = [
    namespace(MESH, **{"meshgate.io/inject": "enabled"}),
    namespace(CONSUMER, **{"meshgate.io/inject": "enabled"}),
    echo_service("echo-v1"),
    echo_service("echo-v2"),
]


def vhost(config: pc.ProxyConfig, name: str) -> pc.VirtualHost:
    outbound = next(ln for ln in config.listeners if ln.role == "outbound")
    return next(v for v in outbound.virtual_hosts if v.name == name)


def sources(config: pc.ProxyConfig, name: str) -> list[str]:
    return [r.source for r in vhost(config, name).routes]


def meshes(docs: list[dict[str, Any]]) -> dict[str, pc.ProxyConfig]:
    _, snap = run(docs)
    return {m.namespace: m.config for m in compile_snapshot(snap).meshes}


def test_producer_route_governs_every_clients_traffic_to_its_service_on_every_port() -> None:
    route = http_route(
        "split", namespace=MESH, parents=[service_parent("echo-v1")],
        rules=[header_rule("set", "echo-v2")],
    )  # fmt: skip
    configs = meshes([*BASE, route])

    for client in (MESH, CONSUMER):
        for port in (80, 8080):
            assert sources(configs[client], f"{MESH}/echo-v1:{port}") == [
                "mesh/httproute-mesh:split"
            ]
        assert sources(configs[client], f"{MESH}/echo-v2:80") == ["mesh/echo-v2"]
    (r,) = vhost(configs[MESH], f"{MESH}/echo-v1:80").routes
    assert r.forward is not None
    assert [c.cluster for c in r.forward.clusters] == ["mesh/echo-v2:80"]


def test_consumer_route_applies_only_to_its_own_namespaces_clients() -> None:
    route = http_route(
        "add-header", namespace=CONSUMER, parents=[service_parent("echo-v1", MESH)],
        rules=[header_rule("set", "echo-v1", MESH)],
    )  # fmt: skip
    adapted, _ = run([*BASE, route])
    configs = meshes([*BASE, route])

    assert sources(configs[CONSUMER], f"{MESH}/echo-v1:80") == [
        "consumer/httproute-mesh:add-header"
    ]
    assert sources(configs[MESH], f"{MESH}/echo-v1:80") == ["mesh/echo-v1"]
    # Its backend is its parent, in another namespace: no ReferenceGrant needed for that.
    body = status(adapted, "HTTPRoute", "add-header", CONSUMER)
    assert parent_condition(body, "Accepted") == ("True", "Accepted")
    assert parent_condition(body, "ResolvedRefs") == ("True", "ResolvedRefs")


def test_parent_ref_port_covers_that_service_port_only() -> None:
    route = http_route(
        "port80", namespace=MESH, parents=[service_parent("echo-v1", port=80)],
        rules=[header_rule("v1", "echo-v1")],
    )  # fmt: skip
    configs = meshes([*BASE, route])

    assert sources(configs[MESH], f"{MESH}/echo-v1:80") == ["mesh/httproute-mesh:port80"]
    assert sources(configs[MESH], f"{MESH}/echo-v1:8080") == ["mesh/echo-v1"]


def test_service_parent_entry_reports_our_controller_and_a_missing_service() -> None:
    route = http_route(
        "two", namespace=MESH, parents=[service_parent("echo-v1"), service_parent("nope")],
        rules=[header_rule("set", "echo-v1")],
    )  # fmt: skip
    adapted, _ = run([*BASE, route])

    body = status(adapted, "HTTPRoute", "two", MESH)
    assert [p["parentRef"] for p in body["parents"]] == [
        {"group": "", "kind": "Service", "name": "echo-v1"},
        {"group": "", "kind": "Service", "name": "nope"},
    ]
    assert {p["controllerName"] for p in body["parents"]} == {"meshgate.io/gateway-controller"}
    assert parent_condition(body, "Accepted", 0) == ("True", "Accepted")
    assert parent_condition(body, "Accepted", 1) == ("False", "NoMatchingParent")


def test_consumer_route_to_another_service_across_namespaces_still_needs_a_grant() -> None:
    route = http_route(
        "elsewhere", namespace=CONSUMER, parents=[service_parent("echo-v1", MESH)],
        rules=[header_rule("set", "echo-v2", MESH)],
    )  # fmt: skip
    adapted, _ = run([*BASE, route])

    body = status(adapted, "HTTPRoute", "elsewhere", CONSUMER)
    assert parent_condition(body, "ResolvedRefs") == ("False", "RefNotPermitted")


def test_a_backends_header_filter_reaches_the_sidecars_cluster_entry_only() -> None:
    v1 = backend("echo-v1", port=80)
    v2 = backend("echo-v2", port=80)
    v2["filters"] = [
        {
            "type": "RequestHeaderModifier",
            "requestHeaderModifier": {"set": [{"name": "Backend", "value": "echo-v2"}]},
        }
    ]
    route = http_route(
        "split", namespace=MESH, parents=[service_parent("echo-v1")],
        rules=[{"backendRefs": [v1, v2]}],
    )  # fmt: skip
    configs = meshes([*BASE, route])

    (r,) = vhost(configs[MESH], f"{MESH}/echo-v1:80").routes
    assert r.forward is not None
    by_cluster = {c.cluster: c for c in r.forward.clusters}
    sent_to_v2 = by_cluster["mesh/echo-v2:80"].request_headers
    assert sent_to_v2 is not None
    assert sent_to_v2.set == {"Backend": "echo-v2"}
    assert by_cluster["mesh/echo-v1:80"].request_headers is None
    assert r.request_headers is None
