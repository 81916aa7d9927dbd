"""A gateway config too large to inline is stored gzip'ed as one gzip member per virtual host:
an incremental compile compresses again only the virtual hosts a change moved, and still gives
byte for byte the parts of a whole compile, which assemble back to the config's text."""

from __future__ import annotations

import dataclasses
import gzip
from typing import Any

from meshgate.api.v1alpha1.route import RouteSpec
from meshgate.compile import Compiler, MeshSettings, compile_snapshot, snapshot_from_bodies
from meshgate.compile.ingest import parse_resource
from meshproxy import configparts
from meshproxy.configparts import assemble

NS = "shop"
ROUTES = 300


def route(n: int, path: str) -> dict[str, Any]:
    rule = {
        "matches": [{"path": {"type": "PathPrefix", "value": path}}],
        "timeouts": {"request": "10s"},
        "backendRefs": [{"name": f"svc-{n % 20}", "port": 8080}],
    }
    return {
        "metadata": {"name": f"route-{n:04d}", "namespace": NS, "generation": 1},
        "spec": {"parentRefs": [{"name": "edge"}], "hostnames": [f"app{n % 50}.example.com"],
                 "rules": [rule]},
    }  # fmt: skip


def test_a_route_change_recompresses_its_virtual_host_only_and_parts_match_a_whole_compile(
    monkeypatch: Any,
) -> None:
    services = [
        {"metadata": {"name": f"svc-{s}", "namespace": NS}, "spec": {"ports": [{"port": 8080}]}}
        for s in range(20)
    ]
    listener = {"name": "http", "port": 8080, "protocol": "HTTP"}
    gateway = {"metadata": {"name": "edge", "namespace": NS}, "spec": {"listeners": [listener]}}
    snap = snapshot_from_bodies(
        settings=MeshSettings(),
        custom={"Gateway": [gateway], "Route": [route(n, f"/r{n}") for n in range(ROUTES)]},
        services=services,
    )
    monkeypatch.setattr(configparts, "INLINE_BYTES", 4096)  # parts, at a unit test's size
    compiler = Compiler()
    first = compiler.compile(snap).gateways[0]
    assert first.config_parts is not None  # too large to inline

    compressed: list[int] = []
    real = gzip.compress

    def counting(data: bytes, *args: Any, **kwargs: Any) -> bytes:
        compressed.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(gzip, "compress", counting)
    routes = list(snap.routes)
    edited = parse_resource("Route", RouteSpec, route(7, "/moved"))
    routes[7] = dataclasses.replace(edited, meta=routes[7].meta)
    snap = dataclasses.replace(snap, routes=tuple(routes))
    got = compiler.compile(snap).gateways[0]
    # The moved virtual host (1/50 of the text) and the small glue between pieces.
    assert 0 < sum(compressed) < len(got.config_json) // 10
    monkeypatch.setattr(gzip, "compress", real)

    want = compile_snapshot(snap).gateways[0]
    assert got.config_parts == want.config_parts
    assert got.config_parts is not None
    chunks = dict(got.config_parts.parts)
    text = assemble(got.config_parts.index_json.encode(), chunks.__getitem__).decode()
    assert text == got.config_json
    assert '"value":"/moved"' in text
