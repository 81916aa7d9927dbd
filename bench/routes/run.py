"""Route table at scale: per-request match cost by table size, and meshproxy req/s at 2,000 routes.

Part 1, in process: one virtual host of N PathPrefix routes (`/svc0` ... `/svc<N-1>`, a third of
them also conditioned on the method, as HTTPRoutes often are), N in 1, 100, 1,000, 10,000; the
request matches the LAST route. Per N: the time of one `RouteTable.match` (the path index) and,
side by side in the same rounds, the time of the in-order scan the index replaced (every route's
`matches` until one holds). Medians of interleaved rounds, in microseconds per request.

Part 2, processes: the same nginx backend behind two meshproxy processes run side by side, one
with 1 route and one with 2,000 routes, the request matching the last route; rounds interleave
the two (wrk -t1 -c32, keep-alive). With `--before <rev>`, the same two configs also run on
the meshproxy of that revision (a `git archive` snapshot), so the report shows the scan too.

Every process is started here and stopped by its own PID in a `finally`; every load is bounded.

    .venv/bin/python bench/routes/run.py [--rounds 3] [--seconds 5] [--before <rev>]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "bench" / "proxy"))

import targets  # noqa: E402 - bench/proxy's modules, found through the path line above
from processes import Started, free_port, say  # noqa: E402

from meshproxy import config  # noqa: E402

# The bench times the path index alone beside the scan it replaced: both see the same compiled
# routes, neither pays the host lookup, so the comparison is of the two algorithms only.
from meshproxy.policy.routing import CompiledRoute, RouteTable, _PathIndex  # noqa: E402

SIZES = (1, 100, 1_000, 10_000)
WRK_ROUTES = 2_000


def route_specs(count: int) -> list[dict[str, Any]]:
    """`count` prefix routes as the config carries them; every third also needs a method."""
    specs = []
    for i in range(count):
        match: dict[str, Any] = {"path": {"type": "PathPrefix", "value": f"/svc{i}"}}
        if i % 3 == 1:
            match["method"] = "GET"
        forward = {"clusters": [{"cluster": "be"}]}
        specs.append({"name": f"r{i}", "match": match, "forward": forward})
    return specs


def _timed(call: Callable[[], object], loops: int) -> float:
    """Microseconds per call, over `loops` calls."""
    start = time.perf_counter()
    for _ in range(loops):
        call()
    return (time.perf_counter() - start) / loops * 1e6


def _scan(in_order: list[CompiledRoute], path: str, headers: dict[str, str]) -> object:
    """The in-order scan the path index replaced."""
    for route in in_order:
        if route.matches("GET", path, headers, {}):
            return route
    return None


def match_cost(rounds: int) -> list[dict[str, Any]]:
    rows = []
    for size in SIZES:
        routes = [config.Route.from_data(spec) for spec in route_specs(size)]
        vhost = config.VirtualHost(name="v", domains=["*"], routes=routes)
        table = RouteTable.compile([vhost])
        in_order = [CompiledRoute(r, "v", order) for order, r in enumerate(routes)]
        index = _PathIndex(in_order)
        path, headers = f"/svc{size - 1}/items/42", {"host": "bench.local"}
        whole = partial(table.match, "bench.local", "GET", path, "", headers)
        indexed = partial(index.match, "GET", path, headers, {})
        scanned = partial(_scan, in_order, path, headers)
        assert indexed() is scanned() is not None
        assert whole() is not None
        index_loops = 20_000
        scan_loops = max(20, 200_000 // size)
        index_us, scan_us, whole_us = [], [], []
        for _ in range(rounds):  # interleaved, so drift on the shared machine hits all three
            index_us.append(_timed(indexed, index_loops))
            scan_us.append(_timed(scanned, scan_loops))
            whole_us.append(_timed(whole, index_loops))
        rows.append(
            {
                "routes": size,
                "index_us": statistics.median(index_us),
                "index_range": (min(index_us), max(index_us)),
                "scan_us": statistics.median(scan_us),
                "scan_range": (min(scan_us), max(scan_us)),
                "whole_us": statistics.median(whole_us),
            }
        )
        print(
            f"  {size:>6} routes: index {rows[-1]['index_us']:.2f} us, "
            f"scan {rows[-1]['scan_us']:.2f} us",
            flush=True,
        )
    return rows


# --- part 2: wrk through real meshproxy processes -----------------------------------------------


def _meshproxy(
    workdir: Path, port: int, backend_port: int, count: int, source: Path | None
) -> targets.Launch:
    base = targets.meshproxy(workdir, port, backend_port, free_port(), source)
    cfg = json.loads(base.files["meshproxy.json"])
    # The last of 2,000 routes (or the only one) is the one the requests match.
    specs = route_specs(WRK_ROUTES)[-count:]
    cfg["listeners"][0]["virtualHosts"][0]["routes"] = specs
    return targets.Launch(base.argv, {"meshproxy.json": json.dumps(cfg)}, base.note, base.env)


def _wait_ready(started: Started, port: int, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and started.process.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path, headers={"Host": "bench.local"})
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{started.name} not ready on {port}: {started.log_tail()}")


def _wrk(port: int, path: str, seconds: float) -> float:
    argv = ["wrk", "-t1", "-c32", f"-d{seconds:g}s", f"http://127.0.0.1:{port}{path}"]
    say(argv)
    out = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw answers other than 200:\n{out}")
    if "Socket errors" in out:  # timeouts of a proxy far slower than the client's patience
        print("  " + next(line for line in out.splitlines() if "Socket errors" in line))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]


def _snapshot(rev: str, into: Path) -> Path:
    """The meshproxy package as committed at `rev`, unpacked under `into`."""
    tar = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "proxy-image/meshproxy"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    return into / "proxy-image"


def proxy_rps(args: argparse.Namespace, workdir: Path) -> dict[str, list[float]]:
    path = f"/svc{WRK_ROUTES - 1}/items/42"
    sources: dict[str, Path | None] = {"now": None}
    if args.before:
        sources[args.before] = _snapshot(args.before, workdir / "before")
    started: list[Started] = []
    ports: dict[str, int] = {}
    try:
        backend_port = free_port()
        backend_dir = workdir / "backend"
        backend = Started("backend", targets.backend(backend_dir, backend_port), backend_dir)
        started.append(backend)
        backend.wait_ready(backend_port)
        for label, source in sources.items():
            for count in (1, WRK_ROUTES):
                key = f"{label}, {count} route{'s' if count > 1 else ''}"
                port, proc_dir = free_port(), workdir / f"mp-{label}-{count}"
                proc = Started(
                    f"meshproxy-{label}-{count}",
                    _meshproxy(proc_dir, port, backend_port, count, source),
                    proc_dir,
                )
                started.append(proc)
                _wait_ready(proc, port, path)
                ports[key] = port
        for port in ports.values():
            _wrk(port, path, 1)  # warm-up: upstream pool open, lazy code loaded
        rps: dict[str, list[float]] = {key: [] for key in ports}
        for _ in range(args.rounds):
            for key, port in ports.items():
                rps[key].append(_wrk(port, path, args.seconds))
                print(f"  {key}: {rps[key][-1]:.0f} req/s", flush=True)
        return rps
    finally:
        for proc in reversed(started):
            proc.stop()


def write_report(
    args: argparse.Namespace, costs: list[dict[str, Any]], rps: dict[str, list[float]] | None
) -> str:
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    load = os.getloadavg()[0]
    lines = [
        "# Route table at scale",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at `{commit}` (worktree), "
        f"{os.cpu_count()} CPUs shared, load average {load:.1f} at the end.",
        f"Command: `.venv/bin/python bench/routes/run.py --rounds {args.rounds} "
        f"--seconds {args.seconds:g}" + (f" --before {args.before}`" if args.before else "`"),
        "",
        "## Per-request route match, by number of routes in one virtual host",
        "",
        "The request matches the last route. `index` is the virtual host's path index (exact "
        "dict, prefix trie, conditions checked on the candidates only); `scan` is the in-order "
        "scan it replaced, on the same compiled routes; `RouteTable.match` is the whole "
        "per-request call (host lookup included) through the index. Measured in the same "
        f"rounds; medians of {args.rounds} interleaved rounds (min-max), microseconds per request.",
        "",
        "| routes | index (us) | scan (us) | RouteTable.match (us) | index vs 1 route "
        "| scan / index |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    one = costs[0]["index_us"]
    for row in costs:
        lo, hi = row["index_range"]
        slo, shi = row["scan_range"]
        lines.append(
            f"| {row['routes']:,} | {row['index_us']:.2f} ({lo:.2f}-{hi:.2f}) "
            f"| {row['scan_us']:.1f} ({slo:.1f}-{shi:.1f}) | {row['whole_us']:.2f} "
            f"| {row['index_us'] / one:.2f}x | {row['scan_us'] / row['index_us']:.0f}x |"
        )
    if rps:
        lines += [
            "",
            f"## meshproxy req/s: {WRK_ROUTES:,} routes vs 1 route, one virtual host",
            "",
            "Same nginx backend, the request matching the last route, `wrk -t1 -c32` for "
            f"{args.seconds:g} s per target per round, {args.rounds} rounds interleaved "
            "(medians, min-max).",
            "",
            "| meshproxy | req/s | vs 1 route of the same code |",
            "|---|---:|---:|",
        ]
        for key, values in rps.items():
            label = key.split(",")[0]
            base = statistics.median(rps[f"{label}, 1 route"])
            med = statistics.median(values)
            lines.append(
                f"| {key} | {med:.0f} ({min(values):.0f}-{max(values):.0f}) | {med / base:.2f}x |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--before", help="also run meshproxy as committed at this revision")
    parser.add_argument("--no-proxy", action="store_true", help="only the in-process part")
    parser.add_argument("--out", type=Path, default=HERE / "REPORT.md")
    args = parser.parse_args()
    print("==> route match cost, in process", flush=True)
    costs = match_cost(args.rounds)
    rps = None
    if not args.no_proxy:
        print("==> meshproxy req/s through wrk", flush=True)
        with tempfile.TemporaryDirectory(prefix="meshgate-bench-routes-") as tmp:
            rps = proxy_rps(args, Path(tmp))
    report = write_report(args, costs, rps)
    args.out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
