"""HTTP/2 rows of the proxy benchmark: h2load against meshproxy, nginx and Envoy, side by side.

The same backend as the HTTP/1 rows (`targets.backend`: nginx answering a fixed ~100-byte body
over HTTP/1.1), and each proxy in front of it with a plaintext HTTP/2 listener (h2c with prior
knowledge): meshproxy with the same config as its HTTP/1 row (its listeners take h2c as they
are), nginx with `listen ... http2`, Envoy with its connection manager's AUTO codec (its HTTP/1
row's config). Upstream stays HTTP/1.1 keep-alive for all three, so the rows compare what each
proxy costs to serve HTTP/2 clients. Rounds interleave the targets; per target and round:
h2load requests/s at saturation (`-c CLIENTS -m STREAMS`), failed requests, and the target
process's CPU per request. Writes bench/proxy/HTTP2.md and the raw figures under bench/out/.

Every process is started here and stopped by its own PID in a `finally`; every load is bounded.

    .venv/bin/python bench/proxy/h2rows.py [--runs 3] [--seconds 5] [--clients 4] [--streams 100]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import procfs
import targets
from processes import Started, free_port
from targets import Launch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
H2LOAD = "/usr/bin/h2load"
NAMES = {
    "a": "backend alone (nginx, HTTP/1.1 client: wrk row)",
    "p": "meshproxy, pure Python",
    "c": "nginx proxy (http2)",
    "e": "Envoy (AUTO codec)",
}


@dataclass
class Row:
    target: str
    round: int
    loadavg: float
    rps: float
    succeeded: int
    failed: int
    cpu_us_per_request: float


def _nginx_h2(workdir: Path, port: int, backend_port: int) -> Launch:
    launch = targets.nginx_proxy(workdir, port, backend_port)
    conf = launch.files["nginx.conf"].replace(
        f"listen 127.0.0.1:{port};", f"listen 127.0.0.1:{port} http2;"
    )
    return Launch(launch.argv, {"nginx.conf": conf}, launch.note + "; h2c listener")


def _cpu(pid: int) -> float:
    used = procfs.cpu_time(pid)
    return used.user + used.kernel


def _h2load(port: int, seconds: float, clients: int, streams: int) -> tuple[float, int, int]:
    argv = [H2LOAD, "-c", str(clients), "-m", str(streams), "-D", f"{seconds:g}"]
    argv += ["-t", "1", f"http://127.0.0.1:{port}/"]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    out = run.stdout
    rps = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    counts = re.search(
        r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed", out
    )
    if rps is None or counts is None:
        raise RuntimeError(f"h2load output not understood:\n{out}\n{run.stderr}")
    return float(rps.group(1)), int(counts.group(1)), int(counts.group(2))


def _ready(port: int, started: Started, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if started.process.poll() is not None:
            break
        out = subprocess.run(
            [H2LOAD, "-n", "1", "-c", "1", f"http://127.0.0.1:{port}/"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
        if "1 succeeded" in out:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{started.name} not ready on {port}: {started.log_tail()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "proxy-h2")
    parser.add_argument("--report", type=Path, default=HERE / "HTTP2.md")
    args = parser.parse_args()
    out = args.out / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    started: list[Started] = []
    rows: list[Row] = []
    try:
        backend_port = free_port()
        backend = Started("backend", targets.backend(out / "a", backend_port), out / "a")
        started.append(backend)
        backend.wait_ready(backend_port)
        ports: dict[str, tuple[int, Started]] = {}
        mp_port, admin = free_port(), free_port()
        mp = Started(
            "meshproxy", targets.meshproxy(out / "p", mp_port, backend_port, admin, None), out / "p"
        )
        started.append(mp)
        ports["p"] = (mp_port, mp)
        ng_port = free_port()
        ng = Started("nginx", _nginx_h2(out / "c", ng_port, backend_port), out / "c")
        started.append(ng)
        ports["c"] = (ng_port, ng)
        en_port, en_admin = free_port(), free_port()
        en = Started("envoy", targets.envoy(out / "e", en_port, backend_port, en_admin), out / "e")
        started.append(en)
        ports["e"] = (en_port, en)
        for port, proc in ports.values():
            _ready(port, proc)
        for rnd in range(args.runs):
            for key, (port, proc) in ports.items():
                cpu_before = _cpu(proc.pid)
                rps, ok, failed = _h2load(port, args.seconds, args.clients, args.streams)
                cpu = _cpu(proc.pid) - cpu_before
                row = Row(key, rnd, os.getloadavg()[0], rps, ok, failed, cpu / max(ok, 1) * 1e6)
                rows.append(row)
                print(json.dumps(asdict(row)), flush=True)
    finally:
        for proc in reversed(started):
            proc.stop()
    (out / "rows.json").write_text(json.dumps([asdict(r) for r in rows], indent=2))
    _report(args, rows, out)
    return 0


def _report(args: argparse.Namespace, rows: list[Row], out: Path) -> None:
    def median(key: str, field: str) -> float:
        return statistics.median(getattr(r, field) for r in rows if r.target == key)

    lines = [
        "# meshproxy HTTP/2 rows: h2load, side by side with nginx and Envoy",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on this shared 2-core machine; "
        f"load average during the run {statistics.median(r.loadavg for r in rows):.1f} "
        "(median). Each proxy: one process, one worker, h2c listener on 127.0.0.1, forwarding "
        "to the same nginx backend over HTTP/1.1 keep-alive (bench/proxy/targets.py).",
        "",
        f"    .venv/bin/python bench/proxy/h2rows.py --runs {args.runs} --seconds "
        f"{args.seconds:g} --clients {args.clients} --streams {args.streams}",
        "",
        f"h2load `-c {args.clients} -m {args.streams} -D {args.seconds:g} -t 1`; medians of "
        f"{args.runs} interleaved rounds. Raw rows: `{out.relative_to(REPO)}/rows.json`.",
        "",
        "| target | requests/s | vs nginx | vs Envoy | CPU us/request | failed |",
        "|---|---|---|---|---|---|",
    ]
    nginx, envoy = median("c", "rps"), median("e", "rps")
    for key in ("p", "c", "e"):
        rps = median(key, "rps")
        failed = sum(r.failed for r in rows if r.target == key)
        lines.append(
            f"| {NAMES[key]} | {rps:,.0f} | {rps / nginx:.2f}x | {rps / envoy:.2f}x | "
            f"{median(key, 'cpu_us_per_request'):.0f} | {failed} |"
        )
    lines.append("")
    args.report.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
