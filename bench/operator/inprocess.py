"""In process, no cluster: a cold `compile_snapshot` against a kept `Compiler` recompiling after
one Route changed, in CPU seconds of this process (less moved by the machine's load than wall
time), the status pass alone (cold, and after each one-Route change), and the process's peak
RSS. Same shapes as bench.py (one Gateway, R Routes over 50 hostnames, S Services with 10
endpoints each).

    .venv/bin/python bench/operator/inprocess.py ROUTES SERVICES [--freeze-each]

`--freeze-each` collects the young generations and freezes the heap after every compile, as
the operator does after every reconcile since it keeps its compiler's stages frozen.
"""

from __future__ import annotations

import dataclasses
import gc
import resource
import statistics
import sys
import time
from typing import Any

from meshgate.api.v1alpha1.route import RouteSpec
from meshgate.compile import Compiler, MeshSettings, compile_snapshot, snapshot_from_bodies
from meshgate.compile.ingest import parse_resource

NS = "bench"


def route(r: int, services: int, path: str) -> dict[str, Any]:
    rule = {
        "matches": [{"path": {"type": "PathPrefix", "value": path}}],
        "timeouts": {"request": "10s"},
        "backendRefs": [{"name": f"svc-{r % services:04d}", "port": 8080}],
    }
    return {
        "metadata": {"name": f"route-{r:05d}", "namespace": NS, "generation": 1},
        "spec": {"parentRefs": [{"name": "edge"}], "hostnames": [f"app{r % 50}.example.com"],
                 "rules": [rule]},
    }  # fmt: skip


def main() -> None:
    routes, services = int(sys.argv[1]), int(sys.argv[2])
    freeze_each = "--freeze-each" in sys.argv[3:]
    svcs: list[Any] = []
    slices: list[Any] = []
    for s in range(services):
        name = f"svc-{s:04d}"
        port = {"name": "http", "port": 8080, "targetPort": 8080}
        svcs.append({"metadata": {"name": name, "namespace": NS}, "spec": {"ports": [port]}})
        endpoints = [
            {"addresses": [f"10.{s // 250}.{s % 250}.{e + 1}"], "conditions": {"ready": True}}
            for e in range(10)
        ]
        labels = {"kubernetes.io/service-name": name}
        meta = {"name": f"{name}-x", "namespace": NS, "labels": labels}
        ports = [{"name": "http", "port": 8080}]
        slices.append({"metadata": meta, "ports": ports, "endpoints": endpoints})
    listener = {"name": "http", "port": 8080, "protocol": "HTTP"}
    gw = {"metadata": {"name": "edge", "namespace": NS}, "spec": {"listeners": [listener]}}
    snap = snapshot_from_bodies(
        settings=MeshSettings(),
        custom={"Gateway": [gw], "Route": [route(r, services, f"/r{r}") for r in range(routes)]},
        services=svcs,
        endpoint_slices=slices,
        namespaces=[{"metadata": {"name": NS, "labels": {"meshgate.io/inject": "enabled"}}}],
    )
    gc.collect()
    gc.freeze()  # as the operator does after a listing
    t = time.process_time()
    result = compile_snapshot(snap)
    cold = time.process_time() - t
    t = time.process_time()
    _ = result.statuses
    status = time.process_time() - t
    compiler = Compiler()
    _ = compiler.compile(snap).statuses  # as the status lane does after every reconcile
    if freeze_each:
        gc.collect(1)
        gc.freeze()
    times: list[float] = []
    status_times: list[float] = []
    for i in range(10):
        items = list(snap.routes)
        body: Any = route(i, services, f"/changed-{i}")
        changed = parse_resource("Route", RouteSpec, body)
        items[i] = dataclasses.replace(changed, meta=items[i].meta)
        snap = dataclasses.replace(snap, routes=tuple(items))
        t = time.process_time()
        changed_result = compiler.compile(snap)
        times.append(time.process_time() - t)
        t = time.process_time()
        _ = changed_result.statuses
        status_times.append(time.process_time() - t)
        if freeze_each:
            gc.collect(1)
            gc.freeze()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"routes={routes} services={services} cold_compile_cpu_s={cold:.3f} "
        f"status_pass_cpu_s={status:.3f} incremental_one_route_cpu_s_p50="
        f"{statistics.median(times):.3f} max={max(times):.3f} "
        f"incremental_status_pass_cpu_s_p50={statistics.median(status_times):.3f} "
        f"gateway_config_bytes={len(result.gateways[0].config_json)} maxrss_mib={rss:.0f} "
        f"freeze_each={freeze_each} stats={compiler.stats}"
    )


if __name__ == "__main__":
    main()
