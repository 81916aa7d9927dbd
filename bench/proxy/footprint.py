"""Idle RSS of meshproxy, an edge config and a sidecar config, source trees side by side.

Runs `python -m meshproxy` from each source tree (`--tree NAME=DIR`, repeated: a directory
holding a `meshproxy` package, e.g. a `git archive` of an older commit's `proxy-image/`; the
first is the baseline, the last the one measured) with the same interpreter and venv, in
interleaved rounds (every tree with the edge config, then every tree with the sidecar config,
round after round), and reads VmRSS from /proc 0.5 s after the admin port first said ready:
the same reading as `run.py`'s "RSS idle". Then, for the last tree, VmRSS after each import
step of a fresh interpreter, so the figures say where the memory goes.

- edge: a gateway with one HTTP listener, one route, one cluster, access log to a file.
- sidecar: a STRICT inbound listener and an outbound listener to a MESH cluster, with a real
  workload certificate (issued by meshgate.certs, as the operator does) for its identity.

Each tree's `meshproxy` package (and a mypyc build's runtime module beside it, for the
`make proxy-compiled` tree) is copied to a temporary directory and byte-compiled there
first, as `pip install` does for the image: without cached bytecode every start would compile
the sources, and that leaves memory behind. Every process is started here and stopped by its
own PID; nothing listens beyond 127.0.0.1.

    mkdir -p /tmp/before && git archive main proxy-image | tar -x -C /tmp/before
    .venv/bin/python bench/proxy/footprint.py --tree main=/tmp/before/proxy-image \\
        --tree branch=proxy-image [--rounds 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import procfs
from processes import free_port

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import create_root_ca
from meshgate.certs.workload import issue_workload_certificate

PYTHON = str(Path(sys.executable).absolute())
TD = "cluster.local"

# Import steps of the breakdown: each line runs in a fresh interpreter after the ones above it.
STEPS = [
    ("interpreter", ""),
    ("+ asyncio (loads ssl)", "import asyncio"),
    ("+ uvloop, httptools", "import uvloop, httptools"),
    ("+ msgspec", "import msgspec"),
    ("+ meshproxy.config", "import meshproxy.config"),
    ("+ all of meshproxy.__main__", "import meshproxy.__main__"),
]


def edge_config(workdir: Path, port: int) -> dict[str, Any]:
    return {
        "node": {"role": "gateway", "name": "footprint"},
        "listeners": [
            {
                "name": "edge",
                "address": "127.0.0.1",
                "port": port,
                "role": "edge",
                "virtualHosts": [
                    {
                        "name": "any",
                        "domains": ["*"],
                        "routes": [{"name": "all", "forward": {"clusters": [{"cluster": "be"}]}}],
                    }
                ],
            }
        ],
        "clusters": [{"name": "be", "endpoints": [{"address": "127.0.0.1", "port": 9}]}],
        "observability": {"accessLog": {"enabled": True, "path": str(workdir / "access.log")}},
        "limits": {"drainTimeout": 1},
    }


def sidecar_config(workdir: Path, inbound: int, outbound: int) -> dict[str, Any]:
    return {
        "node": {"role": "sidecar", "name": "footprint", "namespace": "shop"},
        "identity": {
            "certFile": str(workdir / "tls.crt"),
            "keyFile": str(workdir / "tls.key"),
            "caFile": str(workdir / "ca.crt"),
            "trustDomain": TD,
        },
        "listeners": [
            {
                "name": "inbound",
                "address": "127.0.0.1",
                "port": inbound,
                "role": "inbound",
                "inbound": {"allowedPorts": [8080], "peerAuthn": [{"mode": "STRICT"}]},
            },
            {
                "name": "outbound",
                "address": "127.0.0.1",
                "port": outbound,
                "role": "outbound",
                "virtualHosts": [
                    {
                        "name": "api",
                        "domains": ["api.shop", "api.shop:80"],
                        "routes": [{"name": "api", "forward": {"clusters": [{"cluster": "api"}]}}],
                    }
                ],
            },
        ],
        "clusters": [
            {
                "name": "api",
                "endpoints": [{"address": "127.0.0.1", "port": 9}],
                "tls": {"mode": "MESH"},
            }
        ],
        "observability": {"accessLog": {"enabled": True, "path": str(workdir / "access.log")}},
        "limits": {"drainTimeout": 1},
    }


def write_identity(workdir: Path) -> None:
    now = datetime.now(UTC)
    ca = create_root_ca(TD, now - timedelta(hours=1))
    issued = issue_workload_certificate(
        ca,
        TrustBundle.of([ca.cert]),
        trust_domain=TD,
        namespace="shop",
        service_account="footprint",
        now=now,
        validity=timedelta(hours=24),
    )
    (workdir / "tls.crt").write_text(issued.cert_pem)
    (workdir / "tls.key").write_text(issued.key_pem)
    (workdir / "ca.crt").write_text(issued.ca_bundle_pem)


def _ready(admin: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", admin, timeout=1)
        conn.request("GET", "/ready")
        status = conn.getresponse().status
        conn.close()
    except OSError:
        return False
    return status == 200


def idle_rss_kib(source: Path, cfg: dict[str, Any], workdir: Path) -> int:
    """Start meshproxy from `source`, wait until ready, read VmRSS 0.5 s later, stop it."""
    path = workdir / "config.json"
    path.write_text(json.dumps(cfg))
    admin = free_port()
    argv = [PYTHON, "-m", "meshproxy", "--config", str(path)]
    argv += ["--admin-port", str(admin), "--admin-address", "127.0.0.1"]
    env = {**os.environ, "PYTHONPATH": str(source)}
    log = (workdir / "meshproxy.log").open("wb")
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not _ready(admin):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (workdir / "meshproxy.log").read_text()[-2000:]
                raise RuntimeError(f"meshproxy from {source} never became ready:\n{tail}")
            time.sleep(0.05)
        time.sleep(0.5)
        return procfs.rss_kib(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def breakdown(source: Path) -> list[tuple[str, float]]:
    """VmRSS (MiB) of a fresh interpreter after each import step."""
    out: list[tuple[str, float]] = []
    code: list[str] = []
    for label, line in STEPS:
        if line:
            code.append(line)
        probe = "\n".join([*code, "from pathlib import Path"])
        probe += (
            "\nprint(next(l.split()[1] for l in Path('/proc/self/status').read_text()"
            ".splitlines() if l.startswith('VmRSS:')))"
        )
        env = {**os.environ, "PYTHONPATH": str(source)}
        result = subprocess.run(
            [PYTHON, "-c", probe], env=env, capture_output=True, text=True, check=True, timeout=60
        )
        out.append((label, int(result.stdout.strip()) / 1024))
    return out


def installed_copy(source: Path, target: Path) -> Path:
    """`source`'s meshproxy package copied under `target` and byte-compiled, as pip installs it."""
    shutil.copytree(source / "meshproxy", target / "meshproxy", ignore=_NO_BYTECODE)
    for runtime in source.glob("*__mypyc*"):  # a mypyc build's shared runtime sits beside it
        shutil.copy2(runtime, target / runtime.name)
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(target)], check=True, timeout=300)
    return target


_NO_BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc")


def imported_from(source: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(source)}
    code = "import meshproxy, sys; print(meshproxy.__file__)"
    result = subprocess.run(
        [PYTHON, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, help="NAME=DIR, repeated")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    samples: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="meshproxy-footprint-") as tmp:
        workdir = Path(tmp)
        sources: dict[str, Path] = {}
        for number, tree in enumerate(args.tree):
            name, _, path = tree.partition("=")
            source = installed_copy(Path(path).resolve(), workdir / f"tree{number}")
            where = imported_from(source)
            if not where.startswith(str(source)):
                raise SystemExit(f"{name}: meshproxy imports from {where}, not from {source}")
            sources[name] = source
        write_identity(workdir)
        for _ in range(args.rounds):
            for kind in ("edge", "sidecar"):
                for name, source in sources.items():
                    if kind == "edge":
                        cfg = edge_config(workdir, free_port())
                    else:
                        cfg = sidecar_config(workdir, free_port(), free_port())
                    kib = idle_rss_kib(source, cfg, workdir)
                    samples.setdefault((kind, name), []).append(kib / 1024)
        names = list(sources)
        first, last = names[0], names[-1]
        steps = breakdown(sources[last])
    print(f"idle RSS, MiB: median of {args.rounds} interleaved rounds (min-max)\n")
    print("| config | " + " | ".join(names) + f" | {last} / {first} |")
    print("|---|" + "---|" * len(names) + "---|")
    for kind in ("edge", "sidecar"):
        cells = []
        for name in names:
            runs = samples[(kind, name)]
            cells.append(f"{statistics.median(runs):.1f} ({min(runs):.1f}-{max(runs):.1f})")
        ratio = statistics.median(samples[(kind, last)]) / statistics.median(samples[(kind, first)])
        print(f"| {kind} | " + " | ".join(cells) + f" | {ratio:.2f} |")
    print(f"\nVmRSS of a fresh interpreter after each import step (`{last}`), MiB:\n")
    print("| step | VmRSS | added |")
    print("|---|---|---|")
    previous = 0.0
    for label, mib in steps:
        print(f"| {label} | {mib:.1f} | {mib - previous:+.1f} |")
        previous = mib
    return 0


if __name__ == "__main__":
    sys.exit(main())
