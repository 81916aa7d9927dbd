"""The soak: traffic at half the measured capacity through an edge gateway and a sidecar hop,
for a long time, with config reloads and certificate rotations on the way.

    client (load.py) ─▶ edge gateway meshproxy ─mTLS─▶ inbound sidecar meshproxy ─▶ app.py

Every process is real and on 127.0.0.1; identities come from the operator's own issuing code,
laid out as kubelet mounts a Secret (the mTLS e2e helpers), so a rotation is the atomic swap a
pod sees. The run: measure the path's capacity closed-loop, then send `capacity * --share`
paced requests per second for `--minutes`; every `--reload-every` seconds rewrite both proxies'
configs (a new version each time: the edge route's response header and the sidecar's drain
timeout change), and rotate both identities at `--rotate-at` (fractions of the run). Every
`--sample` seconds the runner records each proxy's RSS and open file descriptors; the load
reports its own windows (ok, failed, p50/p99/max). Output in `--out`: samples.jsonl,
windows.jsonl, events.jsonl, summary.json and soak.png (`plot.py`).

    nice -n 10 .venv/bin/python bench/soak/run.py --minutes 30

Figures only: this prints and writes, and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e" / "proxy"))
sys.path.insert(0, str(REPO / "tests" / "e2e" / "mtls"))

# The e2e suites' helpers, found through the path lines above: the same identities and configs.
from mesh_e2e import (  # noqa: E402
    Mesh,
    MeshProxy,
    SecretVolume,
    inbound_sidecar,
    outbound_sidecar,
    spiffe,
)
from meshproxy_e2e import free_port  # noqa: E402

PYTHON = str(REPO / ".venv" / "bin" / "python")


def edge_config(
    volume: SecretVolume, port: int, app: int, inbound: int, gen: int
) -> dict[str, Any]:
    """The gateway: one edge listener, one route to the app through its sidecar over mTLS."""
    cfg = outbound_sidecar(volume, port, app, inbound, [spiffe("shop", "backend")])
    cfg["node"] = {"role": "gateway", "name": "soak-gw", "namespace": "shop"}
    listener = cfg["listeners"][0]
    listener["role"] = "edge"
    vhost = listener["virtualHosts"][0]
    vhost["domains"] = ["soak.local"]
    vhost["routes"][0]["responseHeaders"] = {"set": {"x-soak-generation": str(gen)}}
    cfg["observability"] = {"accessLog": {"enabled": True, "path": "/dev/null"}}
    return cfg


def sidecar_config(volume: SecretVolume, port: int, app: int, gen: int) -> dict[str, Any]:
    cfg = inbound_sidecar(volume, port, [app])
    cfg["observability"] = {"accessLog": {"enabled": True, "path": "/dev/null"}}
    cfg["limits"] = {"drainTimeout": 2 + gen % 2}
    return cfg


def write_config(proxy: MeshProxy, cfg: dict[str, Any]) -> None:
    tmp = proxy.config_path.with_suffix(f".{time.monotonic_ns()}")
    tmp.write_text(json.dumps(cfg))
    os.replace(tmp, proxy.config_path)


def proc_figures(pid: int) -> dict[str, float]:
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return {"rss_kib": rss, "fds": len(os.listdir(f"/proc/{pid}/fd")), "cpu_s": cpu_seconds(pid)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)


def metric(proxy: MeshProxy, name: str, **labels: str) -> float:
    try:
        return proxy.metric(name, **labels)
    except OSError:
        return -1.0


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out: Path = args.out
        self.out.mkdir(parents=True, exist_ok=True)
        self.mesh = Mesh.new()
        self.gw_volume = SecretVolume(self.out / "identity-gateway")
        self.be_volume = SecretVolume(self.out / "identity-backend")
        self.gw_volume.write(self.mesh.issue(sa="gateway", hours=24))
        self.be_volume.write(self.mesh.issue(sa="backend", hours=24))
        self.app_port, self.inbound_port, self.edge_port = free_port(), free_port(), free_port()
        self.gen = 0
        self.load_pid = 0
        self.events: IO[str] = open(self.out / "events.jsonl", "w")  # noqa: SIM115
        self.app = subprocess.Popen([PYTHON, str(HERE / "app.py"), str(self.app_port)])
        self.sidecar = MeshProxy(
            self.out, "sidecar", sidecar_config(self.be_volume, self.inbound_port, self.app_port, 0)
        )
        self.edge = MeshProxy(
            self.out,
            "edge",
            edge_config(self.gw_volume, self.edge_port, self.app_port, self.inbound_port, 0),
        )
        self.sidecar.wait_ready()
        self.edge.wait_ready()

    def event(self, what: str, **extra: Any) -> None:
        self.events.write(json.dumps({"t": round(time.time(), 3), "event": what, **extra}) + "\n")
        self.events.flush()
        print(f"{time.strftime('%H:%M:%S')} {what} {extra}", flush=True)

    def load(self, *args: str) -> subprocess.Popen[str]:
        argv = [PYTHON, str(HERE / "load.py"), "--port", str(self.edge_port), *args]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)

    def capacity(self) -> float:
        load = self.load("--capacity", "--seconds", str(self.args.capacity_seconds),
                         "--connections", str(self.args.connections))  # fmt: skip
        out, _ = load.communicate(timeout=self.args.capacity_seconds + 60)
        result = json.loads(out.strip().splitlines()[-1])
        self.event("capacity", **result)
        return float(result["capacity_rps"])

    def reload(self) -> None:
        self.gen += 1
        write_config(
            self.edge,
            edge_config(self.gw_volume, self.edge_port, self.app_port, self.inbound_port, self.gen),
        )
        write_config(
            self.sidecar, sidecar_config(self.be_volume, self.inbound_port, self.app_port, self.gen)
        )
        self.event("reload", generation=self.gen)

    def rotate(self) -> None:
        self.gw_volume.write(self.mesh.issue(sa="gateway", hours=48))
        self.be_volume.write(self.mesh.issue(sa="backend", hours=48))
        self.event("rotate")

    def sample(self, samples: IO[str]) -> None:
        record: dict[str, Any] = {"t": round(time.time(), 3), "load1": os.getloadavg()[0]}
        for name, proxy in (("edge", self.edge), ("sidecar", self.sidecar)):
            figures = proc_figures(proxy.process.pid)
            record[f"{name}_rss_kib"] = figures["rss_kib"]
            record[f"{name}_fds"] = figures["fds"]
            record[f"{name}_cpu_s"] = figures["cpu_s"]
        if self.load_pid:
            record["load_cpu_s"] = cpu_seconds(self.load_pid)
        record["edge_reloads_ok"] = metric(
            self.edge, "meshproxy_config_reloads_total", result="success"
        )
        record["cert_reloads_ok"] = metric(
            self.edge, "meshproxy_cert_reloads_total", result="success"
        ) + metric(self.sidecar, "meshproxy_cert_reloads_total", result="success")
        samples.write(json.dumps(record) + "\n")
        samples.flush()

    def run(self) -> dict[str, Any]:
        args = self.args
        capacity = self.capacity()
        rate = round(capacity * args.share, 1)
        seconds = args.minutes * 60
        self.event("soak-start", rate=rate, seconds=seconds)
        load = self.load("--rate", str(rate), "--seconds", str(seconds),
                         "--connections", str(args.connections))  # fmt: skip
        self.load_pid = load.pid
        windows = open(self.out / "windows.jsonl", "w")  # noqa: SIM115
        assert load.stdout is not None
        stdout = load.stdout

        def copy() -> None:
            for line in stdout:
                windows.write(line)
                windows.flush()

        reader = threading.Thread(target=copy, daemon=True)
        reader.start()
        rotate_at = sorted(args.rotate_at)
        start = time.time()
        next_reload = start + args.reload_every
        with open(self.out / "samples.jsonl", "w") as samples:
            while load.poll() is None and time.time() < start + seconds + 120:
                now = time.time()
                if now >= next_reload and now < start + seconds - 10:
                    self.reload()
                    next_reload += args.reload_every
                if rotate_at and now >= start + rotate_at[0] * seconds:
                    rotate_at.pop(0)
                    self.rotate()
                self.sample(samples)
                time.sleep(args.sample)
        if load.poll() is None:
            # Still behind its schedule past the end (the machine could not carry the rate):
            # what it sent is in the windows; stop it.
            self.event("load-stopped-behind-schedule")
            load.terminate()
        load.wait(60)
        reader.join(10)
        windows.close()
        self.event("soak-end")
        return {"capacity_rps": capacity, "rate": rate, "seconds": seconds}

    def stop(self) -> None:
        for proxy in (self.edge, self.sidecar):
            proxy.stop()
        if self.app.poll() is None:
            os.kill(self.app.pid, signal.SIGTERM)
            self.app.wait(10)
        self.events.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--share", type=float, default=0.5, help="of the measured capacity")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--capacity-seconds", type=float, default=15)
    parser.add_argument("--reload-every", type=float, default=120, help="seconds")
    parser.add_argument("--rotate-at", type=float, nargs="*", default=[0.5], help="fractions")
    parser.add_argument("--sample", type=float, default=5, help="seconds between samples")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "soak")
    args = parser.parse_args(argv)
    soak = Soak(args)
    try:
        result = soak.run()
    finally:
        soak.stop()
    (args.out / "run.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
