"""What an incremental compile redoes: a Route edit recompiles its parent Gateways' configs and
its own translation, nothing else (not even a cluster); a Service edit recompiles the configs
whose clusters name it and every meshed namespace's; an unchanged snapshot recompiles nothing."""

from __future__ import annotations

import dataclasses
from typing import Any

from meshgate.compile import Compiler, MeshSettings, compile_snapshot, snapshot_from_bodies
from meshgate.compile.snapshot import Snapshot

API = "meshgate.io/v1alpha1"
NS = "shop"


def gateway(name: str) -> dict[str, Any]:
    listener = {"name": "http", "port": 8080, "protocol": "HTTP"}
    meta = {"name": name, "namespace": NS}
    return {
        "apiVersion": API,
        "kind": "Gateway",
        "metadata": meta,
        "spec": {"listeners": [listener]},
    }


def route(name: str, parent: str, service: str, path: str = "/") -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Route",
        "metadata": {"name": name, "namespace": NS, "resourceVersion": "1"},
        "spec": {
            "parentRefs": [{"name": parent}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                    "backendRefs": [{"name": service, "port": 80}],
                }
            ],
        },
    }


def service(name: str, port: int = 80) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": NS}, "spec": {"ports": [{"port": port}]}}


def build(routes: list[dict[str, Any]], services: list[dict[str, Any]]) -> Snapshot:
    return snapshot_from_bodies(
        settings=MeshSettings(),
        custom={"Gateway": [gateway("a"), gateway("b")], "Route": routes},
        services=services,
        namespaces=[{"metadata": {"name": NS, "labels": {"meshgate.io/inject": "enabled"}}}],
    )


def keep_unchanged(old: Snapshot, new: Snapshot) -> Snapshot:
    """As the operator's parse cache does: an unchanged object is the same object."""
    same = {r.meta.key: r for r in old.routes}
    routes = tuple(same[r.meta.key] if same.get(r.meta.key) == r else r for r in new.routes)
    return dataclasses.replace(new, routes=routes)


ROUTES = [route("r1", "a", "one"), route("r2", "a", "two"), route("r3", "b", "two")]
SERVICES = [service("one"), service("two")]


def test_an_unchanged_snapshot_recompiles_nothing() -> None:
    compiler = Compiler()
    snap = build(ROUTES, SERVICES)
    compiler.compile(snap)
    compiler.compile(snap)
    stats = compiler.stats
    assert (stats.gateways_compiled, stats.meshes_compiled, stats.translations_made) == (0, 0, 0)
    assert (stats.gateways_kept, stats.meshes_kept) == (2, 1)


def test_a_route_edit_recompiles_its_parent_gateway_and_its_translation_only() -> None:
    compiler = Compiler()
    first = build(ROUTES, SERVICES)
    compiler.compile(first)
    edited = [route("r1", "a", "one", "/new"), *ROUTES[1:]]
    snap = keep_unchanged(first, build(edited, SERVICES))
    result = compiler.compile(snap)
    stats = compiler.stats
    assert (stats.gateways_compiled, stats.gateways_kept) == (1, 1)
    assert (stats.meshes_compiled, stats.translations_made) == (0, 1)
    assert stats.clusters_built == 0  # no Service, endpoint or policy moved: all kept
    assert '"value":"/new"' in next(g for g in result.gateways if g.gateway.name == "a").config_json
    assert result == compile_snapshot(snap)
    assert result.statuses == compile_snapshot(snap).statuses


def test_a_route_edit_rebuilds_only_the_virtual_hosts_of_its_hostnames() -> None:
    def on_host(name: str, host: str, path: str = "/") -> dict[str, Any]:
        body = route(name, "a", "one", path)
        body["spec"]["hostnames"] = [host]
        return body

    routes = [on_host(f"r{n}", f"h{n % 5}.example.com", f"/p{n}") for n in range(20)]
    compiler = Compiler()
    first = build(routes, SERVICES)
    assert compiler.compile(first).statuses
    assert compiler.stats.virtual_hosts_built == 5
    edited = [on_host("r3", "h3.example.com", "/moved"), *(r for r in routes if r is not routes[3])]
    snap = keep_unchanged(first, build(edited, SERVICES))
    result = compiler.compile(snap)
    assert compiler.stats.virtual_hosts_built == 1
    assert result.statuses == compile_snapshot(snap).statuses
    assert compiler._status_memo.concluded == 1  # the edited Route's status only
    assert '"value":"/moved"' in result.gateways[0].config_json
    assert result == compile_snapshot(snap)
    assert result.statuses == compile_snapshot(snap).statuses
    # Moved to another hostname: the host it left and the host it joined.
    edited = [on_host("r3", "h1.example.com", "/moved"), *(r for r in routes if r is not routes[3])]
    snap = keep_unchanged(snap, build(edited, SERVICES))
    result = compiler.compile(snap)
    assert compiler.stats.virtual_hosts_built == 2
    assert result == compile_snapshot(snap)
    assert result.statuses == compile_snapshot(snap).statuses


def test_a_service_edit_recompiles_the_gateways_naming_it_and_the_mesh() -> None:
    compiler = Compiler()
    first = build(ROUTES, SERVICES)
    compiler.compile(first)
    snap = keep_unchanged(first, build(ROUTES, [service("one", port=81), service("two")]))
    result = compiler.compile(snap)
    stats = compiler.stats
    # Only gateway a routes to `one`; its Route's backend port is gone now.
    assert (stats.gateways_compiled, stats.gateways_kept) == (1, 1)
    assert (stats.meshes_compiled, stats.translations_made) == (1, 1)
    assert stats.clusters_built > 0
    assert result.statuses == compile_snapshot(snap).statuses
