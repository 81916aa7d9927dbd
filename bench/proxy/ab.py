"""A quick A/B of meshproxy revisions against nginx as a proxy, for one optimisation at a time.

The full `run.py` takes minutes and measures five targets; this measures only what an
optimisation changes: nginx proxy and meshproxy at one or more revisions (`worktree` for the
checkout), interleaved (n m1 m2, n m1 m2, ...) in front of one nginx backend. Per target and
round: wrk -t1 -c32 requests/s, the target's CPU µs per request (user + kernel, /proc), RSS
idle, a short paced 2,000 req/s p50 (`paced.py`), the load average and steal. Prints medians,
min-max and ratios to nginx proxy; figures, never assertions.

Every process is started here and stopped by its own PID in a `finally`; every load is bounded.

    .venv/bin/python bench/proxy/ab.py --source HEAD --source worktree [--runs 3] [--seconds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import procfs
import run
import targets
from processes import Started, free_port

HERE = Path(__file__).resolve().parent


def _snapshot(out: Path, rev: str) -> Path | None:
    if rev == "worktree":
        return HERE.parent.parent / "proxy-image"
    dest = out / f"src-{rev.replace('/', '_')}"
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(run.REPO), "archive", rev, "proxy-image/meshproxy"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "proxy-image"


def _one(
    name: str, launch: targets.Launch, workdir: Path, port: int, args: argparse.Namespace
) -> dict[str, float]:
    proc = Started(name, launch, workdir)
    try:
        proc.wait_ready(port)
        time.sleep(0.5)
        rss = procfs.rss_kib(proc.pid) / 1024
        run._run_wrk(run._wrk(port, 1), 1)
        load = procfs.loadavg()
        host0, cpu0 = procfs.host_cpu(), procfs.cpu_time(proc.pid)
        out = run._run_wrk(run._wrk(port, args.seconds), args.seconds)
        cpu1, host1 = procfs.cpu_time(proc.pid), procfs.host_cpu()
        rps, requests, problems = run._parse_wrk(out)
        paced = run._paced(port, args)
        sample = {
            "rps": rps,
            "user": (cpu1.user - cpu0.user) / requests * 1e6,
            "kernel": (cpu1.kernel - cpu0.kernel) / requests * 1e6,
            "p50": float(paced.get("p50_us") or 0),
            "rss": rss,
            "load": load,
            "steal": procfs.steal_percent(host0, host1),
        }
        print(f"  -> {name}: {sample} {problems}", flush=True)
        return sample
    finally:
        proc.stop()


def _med(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", action="append", default=[], help="revision or `worktree`")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--paced-seconds", type=float, default=2)
    parser.add_argument("--no-nginx", action="store_true", help="meshproxy revisions only")
    args = parser.parse_args(argv)
    sources = args.source or ["worktree"]
    out = run.REPO / "bench" / "out" / "ab" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    out.mkdir(parents=True)
    dirs = {rev: _snapshot(out, rev) for rev in sources}
    backend_port = free_port()
    backend = Started("backend", targets.backend(out / "backend", backend_port), out / "backend")
    results: dict[str, list[dict[str, float]]] = {}
    try:
        backend.wait_ready(backend_port)
        for rnd in range(1, args.runs + 1):
            names = ([] if args.no_nginx else ["nginx-proxy"]) + sources
            for name in names:
                port = free_port()
                workdir = out / f"{name.replace('/', '_')}-{rnd}"
                if name == "nginx-proxy":
                    launch = targets.nginx_proxy(workdir, port, backend_port)
                else:
                    launch = targets.meshproxy(workdir, port, backend_port, free_port(), dirs[name])
                print(f"== round {rnd}: {name}", flush=True)
                results.setdefault(name, []).append(_one("t", launch, workdir, port, args))
    finally:
        backend.stop()
    base = results.get("nginx-proxy")
    print(f"\n{args.runs} rounds, wrk -t1 -c32 -d{args.seconds:g}s; medians (min-max)")
    print("| target | req/s | x nginx | CPU µs/req user | kernel | p50 µs @paced | RSS idle MiB |")
    print("|---|---|---|---|---|---|---|")
    for name, samples in results.items():
        rps = [s["rps"] for s in samples]
        ratio = statistics.median(rps) / statistics.median([b["rps"] for b in base]) if base else 0
        print(
            f"| {name} | {_med(rps)} | {ratio:.2f} | {_med([s['user'] for s in samples])} | "
            f"{_med([s['kernel'] for s in samples])} | {_med([s['p50'] for s in samples])} | "
            f"{_med([s['rss'] for s in samples])} |"
        )
    loads = [s["load"] for ss in results.values() for s in ss]
    steals = [s["steal"] for ss in results.values() for s in ss]
    print(f"load {_med(loads)}, steal % {_med(steals)}; raw under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
