"""Operator benchmark: cold compile + apply at scale, and change-to-ConfigMap latency.

    .venv/bin/python bench/operator/bench.py [--routes 1000 --services 200 --endpoints 10
                                              --changes 200] [--kubeconfig PATH]

Without --kubeconfig it starts the local control plane (etcd, kube-apiserver, controller-manager
from $MESHGATE_TESTBINS or .local/testbins.path) in a temporary directory and stops it at the end.
Prints one JSON document with every figure (also written to --out when given), with the load
averages at start and end: the machine is shared, and the figures move with its load. Progress
goes to stderr. REPORT.md quotes runs of it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from meshgate.compile import compile_snapshot
from meshgate.kube.listing import read_cluster
from meshgate.kube.rest import connect
from meshgate.settings import Settings
from meshproxy.configparts import assemble, is_index

REPO = Path(__file__).resolve().parents[2]
NS = "bench"
API = "meshgate.io/v1alpha1"


def call(api: k8s.ApiClient, method: str, path: str, body: Any = None, ctype: str = "") -> Any:
    ctype = ctype or ("application/apply-patch+yaml" if method == "PATCH" else "application/json")
    query = [("fieldManager", "bench"), ("force", "true")] if method == "PATCH" else []
    method, url, headers, _, _ = api.param_serialize(
        method=method,
        resource_path=path,
        query_params=query,
        header_params={"Content-Type": ctype, "Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    payload = body if body is None or "json" in ctype else json.dumps(body)
    resp = api.call_api(method, url, header_params=headers, body=payload)
    resp.read()
    if resp.status >= 400 and resp.status != 404:
        raise RuntimeError(f"{method} {path}: {resp.status} {resp.data[:300]!r}")
    return json.loads(resp.data or b"{}") if resp.status != 404 else None


def apply(api: k8s.ApiClient, path: str, obj: dict[str, Any]) -> None:
    call(api, "PATCH", f"{path}/{obj['metadata']['name']}", obj)


def setup(
    api: k8s.ApiClient, services: int, endpoints: int, routes: int, operator_namespace: str
) -> None:
    for p in sorted((REPO / "crds").glob("*.yaml")):
        crd = yaml.safe_load(p.read_text())
        apply(api, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if call(api, "GET", f"/apis/{API}/gateways") is not None:
            break
        time.sleep(0.1)
    ns = {"apiVersion": "v1", "kind": "Namespace",
          "metadata": {"name": NS, "labels": {"meshgate.io/inject": "enabled"}}}  # fmt: skip
    apply(api, "/api/v1/namespaces", ns)
    # As the chart makes it: the operator waits for its own namespace before it starts.
    apply(api, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": operator_namespace}})  # fmt: skip
    base = f"/api/v1/namespaces/{NS}"
    for s in range(services):
        name = f"svc-{s:03d}"
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
               "spec": {"ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}}  # fmt: skip
        apply(api, f"{base}/services", svc)
        eps = [
            {"addresses": [f"10.{s // 250}.{s % 250}.{e + 1}"], "conditions": {"ready": True}}
            for e in range(endpoints)
        ]
        sl = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
              "metadata": {"name": f"{name}-x", "labels": {"kubernetes.io/service-name": name}},
              "addressType": "IPv4", "ports": [{"name": "http", "port": 8080}],
              "endpoints": eps}  # fmt: skip
        apply(api, f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices", sl)
    gw = {"apiVersion": API, "kind": "Gateway", "metadata": {"name": "edge"},
          "spec": {"replicas": 2, "service": {"type": "ClusterIP"},
                   "listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}]}}  # fmt: skip
    apply(api, f"/apis/{API}/namespaces/{NS}/gateways", gw)
    # Four writers: 10,000 Routes one after the other would take minutes on their own.
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda r: apply(
                    api, f"/apis/{API}/namespaces/{NS}/routes", route(r, services, f"/r{r}")
                ),
                range(routes),
            )
        )


def route(r: int, services: int, path: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Route",
        "metadata": {"name": f"route-{r:04d}"},
        "spec": {
            "parentRefs": [{"name": "edge"}],
            "hostnames": [f"app{r % 50}.example.com"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                    "timeouts": {"request": "10s"},
                    "backendRefs": [{"name": f"svc-{r % services:03d}", "port": 8080}],
                }
            ],
        },
    }


def incremental_compile_seconds(snapshot: Any, services: int) -> tuple[float, float] | None:
    """In process: a kept `Compiler` recompiling after one Route changed, 20 times (p50, max).
    None for code without an incremental compiler."""
    import dataclasses

    try:
        from meshgate.compile import Compiler
        from meshgate.compile.ingest import parse_resource
    except ImportError:
        return None
    from meshgate.api.v1alpha1.route import RouteSpec

    compiler = Compiler()
    compiler.compile(snapshot)
    times = []
    for i in range(20):
        routes = list(snapshot.routes)
        old = routes[i]
        body = route(i, services, f"/in-process-{i}")
        body["metadata"] = {"name": old.meta.name, "namespace": old.meta.namespace,
                            "generation": old.meta.generation + 1}  # fmt: skip
        routes[i] = dataclasses.replace(parse_resource("Route", RouteSpec, body), meta=old.meta)
        snapshot = dataclasses.replace(snapshot, routes=tuple(routes))
        t = time.monotonic()
        compiler.compile(snapshot)
        times.append(time.monotonic() - t)
    return round(statistics.median(times), 3), round(max(times), 3)


def gateway_config(api: k8s.ApiClient) -> str | None:
    """The gateway's config JSON, assembled from its parts when the ConfigMap holds an index."""
    cm = call(api, "GET", f"/api/v1/namespaces/{NS}/configmaps/meshgate-gw-edge")
    if not cm:
        return None
    raw = cm["data"]["config.json"].encode()
    if not is_index(raw):
        return raw.decode()
    parts = {}
    for name in json.loads(raw)["parts"]:
        number = name.split("-")[1]
        part = call(
            api, "GET", f"/api/v1/namespaces/{NS}/configmaps/meshgate-gw-edge-config-{number}"
        )
        parts.update((part or {}).get("binaryData") or {})
    if any(name not in parts for name in json.loads(raw)["parts"]):
        return None  # a newer version's parts replaced this index's meanwhile: read again
    return assemble(raw, lambda name: base64.b64decode(parts[name])).decode()


def persisted_objects(api: k8s.ApiClient) -> dict[str, int]:
    """Every ConfigMap of the bench namespace and its size as the API server stores it (JSON)."""
    items = call(api, "GET", f"/api/v1/namespaces/{NS}/configmaps")["items"]
    sizes = {}
    for cm in items:
        cm["metadata"].pop("managedFields", None)
        sizes[cm["metadata"]["name"]] = len(json.dumps(cm, separators=(",", ":")))
    return sizes


def config_map_version(api: k8s.ApiClient) -> str:
    method, url, headers, _, _ = api.param_serialize(
        method="GET",
        resource_path=f"/api/v1/namespaces/{NS}/configmaps/meshgate-gw-edge",
        header_params={"Accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"},
        auth_settings=["BearerToken"],
    )
    resp = api.call_api(method, url, header_params=headers)
    resp.read()
    return str(json.loads(resp.data)["metadata"]["resourceVersion"]) if resp.status == 200 else ""


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far: per change, less distorted by the machine's load
    than wall-clock latency."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--routes", type=int, default=1000)
    ap.add_argument("--services", type=int, default=200)
    ap.add_argument("--endpoints", type=int, default=10)
    ap.add_argument("--changes", type=int, default=200)
    ap.add_argument("--kubeconfig")
    ap.add_argument(
        "--status-timeout",
        type=float,
        default=300,
        help="seconds to wait for every Route's status after a cold start (then go on)",
    )
    ap.add_argument(
        "--change-timeout",
        type=float,
        default=600,
        help="give up timing changes when one is not visible after this many seconds",
    )
    ap.add_argument(
        "--changes-budget",
        type=float,
        default=600,
        help="stop timing changes after this many seconds (at least one is timed)",
    )
    ap.add_argument("--operator-namespace", default="meshgate-system")
    ap.add_argument("--out", help="also write the JSON document here")
    args = ap.parse_args()

    def progress(what: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}] {what}",
              file=sys.stderr, flush=True)  # fmt: skip

    cluster = None
    kubeconfig = args.kubeconfig
    if kubeconfig is None:
        from meshgate.localcluster.cluster import LocalCluster
        from meshgate.localcluster.testbins import bin_dir_from_env

        if not os.environ.get("MESHGATE_TESTBINS"):
            recorded = REPO / ".local" / "testbins.path"
            os.environ["MESHGATE_TESTBINS"] = recorded.read_text().strip()
        cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="bench-")), bin_dir_from_env(),
                               tie_to_parent=True)  # fmt: skip
        cluster.start()
        kubeconfig = str(cluster.kubeconfig_path)
    k8s_config.load_kube_config(config_file=kubeconfig)
    api = k8s.ApiClient()
    out: dict[str, Any] = {"routes": args.routes, "services": args.services,
                           "endpoints": args.services * args.endpoints}  # fmt: skip
    out["load_average_start"] = [round(x, 2) for x in os.getloadavg()]
    op: subprocess.Popen[bytes] | None = None
    try:
        progress("creating objects")
        t = time.monotonic()
        setup(api, args.services, args.endpoints, args.routes, args.operator_namespace)
        out["setup_seconds"] = round(time.monotonic() - t, 2)

        settings = Settings(namespaces=(NS,), operator_namespace=args.operator_namespace)
        rest = connect(kubeconfig)
        progress("listing and compiling in process")
        t = time.monotonic()
        state = read_cluster(rest, settings)
        t_list = time.monotonic() - t
        t = time.monotonic()
        result = compile_snapshot(state.snapshot)
        t_compile = time.monotonic() - t
        sizes = {f"gateway/{g.gateway.key}": len(g.config_json) for g in result.gateways}
        sizes |= {f"mesh/{m.namespace}": len(m.config_json) for m in result.meshes}
        out["in_process"] = {"list_seconds": round(t_list, 3),
                             "compile_seconds": round(t_compile, 3)}  # fmt: skip
        incremental = incremental_compile_seconds(state.snapshot, args.services)
        if incremental is not None:
            out["in_process"]["incremental_compile_one_route_p50_seconds"] = incremental[0]
            out["in_process"]["incremental_compile_one_route_max_seconds"] = incremental[1]
        out["config_bytes"] = sizes
        out["largest_config_bytes"] = max(sizes.values())
        out["largest_vs_1MiB_limit"] = round(max(sizes.values()) / (1 << 20), 3)
        want = result.gateways[0].version

        # Cold: a fresh operator process against the full cluster, until the config is there.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "KUBECONFIG": kubeconfig, "MESHGATE_WATCH_NAMESPACES": NS,
               "MESHGATE_OPERATOR_NAMESPACE": args.operator_namespace,
               "MESHGATE_METRICS_PORT": str(port),
               # As the integration harness: no admission webhook (the bench cluster has no
               # operator namespace, and kopf holds every watch until start-up succeeds).
               "MESHGATE_INJECTION_ENABLED": "false"}  # fmt: skip
        log_name = f"bench-operator-{args.routes}x{args.services}.log"
        log = open(Path(tempfile.gettempdir()) / log_name, "wb")  # noqa: SIM115
        progress("cold operator start")
        t = time.monotonic()
        op = subprocess.Popen([sys.executable, "-m", "meshgate.handlers.run"], env=env,
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        while True:
            text = gateway_config(api)
            if text and json.loads(text)["version"] == want:
                break
            if time.monotonic() - t > 900:
                raise RuntimeError("cold start did not converge in 900 s")
            time.sleep(0.02)
        out["cold_operator_start_to_config_seconds"] = round(time.monotonic() - t, 3)
        persisted = persisted_objects(api)
        largest = max(persisted, key=lambda name: persisted[name])
        out["persisted_configmaps"] = persisted
        out["largest_persisted_object"] = {"name": largest, "bytes": persisted[largest]}
        out["gateway_config_objects"] = sorted(n for n in persisted if "meshgate-gw-edge" in n)

        # ... and until every Route carries a status for its current generation.
        def statuses_written() -> int:
            items = call(api, "GET", f"/apis/{API}/namespaces/{NS}/routes")["items"]
            return sum(
                1
                for r in items
                if (r.get("status") or {}).get("observedGeneration") == r["metadata"]["generation"]
            )

        written = statuses_written()
        while written < args.routes and time.monotonic() - t < args.status_timeout:
            time.sleep(1.0)
            written = statuses_written()
        if written < args.routes:  # recorded, not fatal: the other figures still mean something
            out["route_statuses_written_at_timeout"] = written
        else:
            out["cold_operator_start_to_all_route_status_seconds"] = round(time.monotonic() - t, 3)

        # Change-to-ConfigMap latency: edit one Route, wait for the ConfigMap to show it.
        progress("changes")
        latencies: list[float] = []
        changes_started = time.monotonic()
        cpu_before = cpu_seconds(op.pid)
        for i in range(args.changes):
            if latencies and time.monotonic() - changes_started > args.changes_budget:
                break
            if i % 50 == 0 and i:
                progress(f"change {i}: median so far {statistics.median(latencies):.3f} s")
            r = i % args.routes
            marker = f"/changed-{i}"
            apply(api, f"/apis/{API}/namespaces/{NS}/routes", route(r, args.services, marker))
            t = time.monotonic()
            seen, visible = "", False
            while not visible and time.monotonic() - t < args.change_timeout:
                # Poll the metadata only (cheap), and read the 600 kB body once it moved.
                version = config_map_version(api)
                if version != seen:
                    seen = version
                    text = gateway_config(api)
                    visible = bool(text) and f'"value":"{marker}"' in text
                    if text is None:
                        seen = ""  # caught between two versions' writes
                if not visible:
                    time.sleep(0.005)
            if not visible:
                # Recorded, not fatal: the first change can wait behind a long first reconcile.
                out["change_not_visible_within_seconds"] = args.change_timeout
                out["changes_timed_before_that"] = len(latencies)
                break
            latencies.append(time.monotonic() - t)
        if latencies:
            out["change_to_configmap"] = {
                "changes": len(latencies),
                "p50_seconds": round(statistics.median(latencies), 3),
                "p90_seconds": round(percentile(latencies, 0.90), 3),
                "p99_seconds": round(percentile(latencies, 0.99), 3),
                "max_seconds": round(max(latencies), 3),
                # Each change in order: where in the run the slow ones fell (a resync, ...).
                "each_seconds": [round(x, 3) for x in latencies],
                # The operator's CPU over the whole changes phase, per change.
                "operator_cpu_seconds_per_change": round(
                    (cpu_seconds(op.pid) - cpu_before) / len(latencies), 4
                ),
            }
        out["operator_peak_rss_mib"] = round(peak_rss_mib(op.pid), 1)
        # Again at the end: the namespace's sidecar config is written after the gateway's.
        persisted = persisted_objects(api)
        largest = max(persisted, key=lambda name: persisted[name])
        out["persisted_configmaps_end"] = persisted
        out["largest_persisted_object"] = {"name": largest, "bytes": persisted[largest]}
        out["operator_errors"] = sorted(
            {
                line[:300]
                for line in Path(log.name).read_text(errors="replace").splitlines()
                # The status after a colon: a version's hex or a duration may hold "422".
                if re.search(r": 422\b", line) or "Invalid" in line
            }
        )[:5]
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            metrics = resp.read().decode()

        def metric(name: str) -> float:
            return next(
                float(line.split()[1])
                for line in metrics.splitlines()
                if line.startswith(f"{name} ")
            )

        out["operator_reconciles"] = metric("meshgate_reconciles_total")
        finished = metric("meshgate_reconcile_duration_seconds_count")
        if finished:  # none when the first reconcile is still writing statuses
            out["operator_reconcile_mean_seconds"] = round(
                metric("meshgate_reconcile_duration_seconds_sum") / finished, 3
            )
    finally:
        try:
            if op is not None:
                os.kill(op.pid, signal.SIGTERM)
                try:
                    op.wait(timeout=20)
                except subprocess.TimeoutExpired:  # busy in a long reconcile: not left behind
                    os.kill(op.pid, signal.SIGKILL)
                    op.wait(timeout=20)
        finally:
            if cluster is not None:
                cluster.stop()
    out["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
