"""Helpers for the hostile-load e2e tests: an operator-compiled edge gateway with two backends,
slowhttptest as the attacker, a paced well-behaved client, and the proxy's own figures.

The gateway is compiled from Gateway and Route YAML by the operator's compiler
(`tests/e2e/edge/compiled_edge.py`) and run as a real meshproxy process on 127.0.0.1. Routes:
`/api` to an `api` backend (small JSON answers) and `/big` to a `files` backend (a large body),
each its own cluster, as two Services would be. The well-behaved client is the soak's paced
client (`bench/soak/load.py`) connecting from 127.0.0.2, so it is another address than the
attacker's (127.0.0.1). Every process is stopped by its PID; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httptools

HERE = Path(__file__).resolve().parent
E2E = HERE.parent
REPO = E2E.parents[1]
for _dir in (E2E / "edge", E2E / "proxy"):
    if str(_dir) not in sys.path:
        sys.path.insert(0, str(_dir))

from compiled_edge import backend, compile_gateway  # noqa: E402 - the path lines above
from meshproxy_e2e import Proxy, free_port, wait_until  # noqa: E402

try:
    from meshproxy.limits.memory import BUFFER_SHARE
except ImportError:  # a proxy tree from before answers were buffered (interleave.sh's "before")
    BUFFER_SHARE = 0.75

SLOWHTTPTEST = "/usr/bin/slowhttptest"
LOAD = REPO / "bench" / "soak" / "load.py"
PYTHON = str(REPO / ".venv" / "bin" / "python")
CLIENT_ADDRESS = "127.0.0.2"  # the well-behaved client; the attacker is 127.0.0.1
BIG_BODY = 256 * 1024
SLOW_SECONDS = 0.05  # how long `/api/slow` takes to answer
OUT = REPO / "bench" / "out" / "hostile"


# --- who runs on which core ---------------------------------------------------------------------
#
# A gateway meets attackers on other machines: their CPU is not the gateway's, nor its backends',
# nor its well-behaved clients'. On one machine the closest is to keep the attacker off the cores
# the rest of the test runs on (MESHGATE_HOSTILE_PIN, only when asked; bench/hostile/interleave.sh
# asks for `attacker`):
#
# - `attacker`: slowhttptest on a core of its own; the proxy, the well-behaved client and the
#   backends (this process) on the other. slowhttptest polls every socket it holds (0.7 of a core
#   with 10,000), and this kernel does not preempt a task inside a system call: a backend or a
#   client woken on the attacker's core waited for its poll over 10,000 sockets to return,
#   whatever the attacker's priority (nice 19 or SCHED_IDLE; bench/hostile/REPORT.md).
#   The client and the backends stand for other machines too: sharing the proxy's core, they
#   must not wait for the proxy to use up its time slice when they wake, so the proxy runs at
#   nice PROXY_NICE (5) there and the scheduler hands the core to them first. What the proxy
#   does in its loop before it answers a request is still all in that request's latency.
# - `proxy` (or `1`): the proxy on a core of its own, everything else on the other (the layout of
#   the runs before 4 December).
#
# On a machine loaded by others a pinned process cannot move to the core that is free, and falls
# seconds behind (a slow-read run here at load 16: the client's p50 15 s, its requests timing
# out, with the proxy at 6 % of its core); with one CPU there is nothing to pin.
LAYOUT = os.environ.get("MESHGATE_HOSTILE_PIN", "0")
PROXY_NICE = int(os.environ.get("MESHGATE_HOSTILE_PROXY_NICE", "5"))


def _cpus() -> dict[str, set[int]] | None:
    allowed = sorted(os.sched_getaffinity(0))
    if LAYOUT in ("", "0") or len(allowed) < 2:
        return None
    one, rest = {allowed[0]}, set(allowed[1:])
    if LAYOUT == "attacker":
        return {"proxy": one, "others": one, "attacker": rest}
    return {"proxy": one, "others": rest, "attacker": rest}


PINNING = _cpus()


def pin(pid: int, cpus: set[int], nice: int | None = None) -> None:
    """Every thread of `pid` to `cpus` (threads it starts later inherit it), at `nice`."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(tid), cpus)
            if nice is not None:
                os.setpriority(os.PRIO_PROCESS, int(tid), nice)


@contextlib.contextmanager
def pinned(proxy: Proxy) -> Any:
    """The proxy and this process (and what it starts) on their cores for the block (the
    attacker is put on its own as it starts: `SlowHttpTest`); this process's own threads get
    their CPUs back after it."""
    if PINNING is None:
        yield {"pinned": False}
        return
    before = os.sched_getaffinity(0)
    shared = PINNING["proxy"] == PINNING["others"]
    nice = PROXY_NICE if shared else None
    pin(proxy.process.pid, PINNING["proxy"], nice)
    pin(os.getpid(), PINNING["others"])
    try:
        cpus = {f"{k}_cpus": sorted(v) for k, v in PINNING.items()}
        yield {"pinned": LAYOUT, **cpus, "proxy_nice": nice or 0}
    finally:
        pin(os.getpid(), before)


# --- the network namespace's kernel buffers ------------------------------------------------------

WMEM = Path("/proc/sys/net/ipv4/tcp_wmem")


@contextlib.contextmanager
def send_buffers_at_most(size: int) -> Any:
    """Each socket's kernel send buffer at most `size` in this network namespace (the tests run in
    their own: hack/in-netns.sh), for the block. On loopback the kernel grows a socket's send
    buffer to megabytes (its segments are 64 KiB), so a slow reader's answers can sit whole in
    the kernel and the proxy never sees a write stall: whether the send timeout fired then
    depended on how many slow readers got in (300: never; 2,000 at load 12: once not; memory
    pressure on the kernel's TCP buffers shrinks them). Over a real path it is the proxy's."""
    try:
        before = WMEM.read_text()
        low, default, _ = before.split()
        WMEM.write_text(f"{low} {min(int(default), size)} {size}")
    except OSError:
        yield False  # not in a namespace of its own: left as it is
        return
    try:
        yield True
    finally:
        WMEM.write_text(before)


# --- the network namespace's own TCP counters ----------------------------------------------------

TCP_COUNTERS = ("ListenOverflows", "ListenDrops", "TCPSynRetrans", "TCPTimeouts", "RetransSegs")


def tcp_counters() -> dict[str, int]:
    """What this network namespace's TCP stack counted: a full accept queue (ListenOverflows,
    ListenDrops), a client's SYN sent again (TCPSynRetrans: a second's wait), retransmissions."""
    found: dict[str, int] = {}
    for path in ("/proc/net/netstat", "/proc/net/snmp"):
        lines = Path(path).read_text().splitlines()
        for names, values in zip(lines[::2], lines[1::2], strict=False):
            for name, value in zip(names.split()[1:], values.split()[1:], strict=False):
                if name in TCP_COUNTERS:
                    found[name] = int(value)
    return found


def raise_open_files_limit() -> int:
    """Soft RLIMIT_NOFILE to the hard one, for this process and what it starts."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# --- backends ------------------------------------------------------------------------------------


class _Answer(asyncio.Protocol):
    def __init__(self, answers: dict[str, bytes], counts: dict[str, int]) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.answers = answers
        self.counts = counts
        self.transport: Any = None
        self.url = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_begin(self) -> None:
        self.url = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_message_complete(self) -> None:
        path = self.url.decode("latin-1")
        self.counts[path] = self.counts.get(path, 0) + 1
        answer = self.answers["/big" if path.startswith("/big") else "/api"]
        if path.startswith("/api/slow"):
            asyncio.get_running_loop().call_later(SLOW_SECONDS, self._write, answer)
        else:
            self._write(answer)

    def _write(self, answer: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(answer)


class Backends:
    """`api` and `files` on one event loop in a thread: fixed answers, requests counted by
    path."""

    def __init__(self) -> None:
        small = b'{"api":"ok"}'
        big = b"x" * BIG_BODY
        head = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
        self.answers = {
            "/api": head % (b"application/json", len(small)) + small,
            "/big": head % (b"application/octet-stream", len(big)) + big,
        }
        self.counts: dict[str, int] = {}
        self.api_port, self.files_port = free_port(), free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.thread_id = self.thread.native_id

        async def serve() -> list[asyncio.AbstractServer]:
            return [
                await self.loop.create_server(
                    lambda: _Answer(self.answers, self.counts), "127.0.0.1", port, backlog=4096
                )
                for port in (self.api_port, self.files_port)
            ]

        self.servers = asyncio.run_coroutine_threadsafe(serve(), self.loop).result(10)

    def close(self) -> None:
        async def stop() -> None:
            for server in self.servers:
                server.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


# --- the gateway ---------------------------------------------------------------------------------


# The files cluster's pool is small: a slow reader whose answer did not fit the proxy's response
# buffer would hold one of its connections until the send timeout.
FILES_POOL = 128
FILES_POLICY = f"""
---
apiVersion: meshgate.io/v1alpha1
kind: DestinationRule
metadata: {{name: files}}
spec:
  host: files
  trafficPolicy:
    connectionPool:
      tcp: {{maxConnections: {FILES_POOL}}}
      http: {{http1MaxPendingRequests: {FILES_POOL}}}
"""


def gateway_yaml(limits: str, backends: Backends) -> str:
    """A Gateway with one HTTP listener carrying `limits` (YAML flow mapping) and two Routes."""
    return f"""
apiVersion: meshgate.io/v1alpha1
kind: Gateway
metadata: {{name: edge}}
spec:
  listeners:
    - name: http
      port: 8080
      protocol: HTTP
      connectionLimits: {limits}
---
apiVersion: meshgate.io/v1alpha1
kind: Route
metadata: {{name: api}}
spec:
  parentRefs: [{{name: edge}}]
  rules:
    - matches: [{{path: {{type: PathPrefix, value: /api}}}}]
      backendRefs: [{{name: api, port: {backends.api_port}}}]
---
apiVersion: meshgate.io/v1alpha1
kind: Route
metadata: {{name: files}}
spec:
  parentRefs: [{{name: edge}}]
  rules:
    - matches: [{{path: {{type: PathPrefix, value: /big}}}}]
      backendRefs: [{{name: files, port: {backends.files_port}}}]
{backend(backends.api_port, "api")}
{backend(backends.files_port, "files")}
{FILES_POLICY}"""


def start_gateway(
    tmp: Path, limits: str, backends: Backends, proxy_limits: dict[str, Any] | None = None
) -> tuple[Proxy, int]:
    """The compiled gateway running; `proxy_limits` overrides process-wide settings (the
    memory ceiling), as the chart's proxy settings would."""
    port = free_port()
    compiled = compile_gateway(gateway_yaml(limits, backends), tmp / "pod", port)
    cfg = compiled.config
    (listener,) = cfg["listeners"]
    assert "connectionLimits" in listener, "the Gateway's connectionLimits reached the proxy"
    if proxy_limits:
        cfg["limits"] = {**cfg.get("limits", {}), **proxy_limits}
    home = tmp / "gateway"
    home.mkdir()
    return Proxy(home, cfg), port


# --- figures of the running proxy ----------------------------------------------------------------


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_delay_ms(pid: int, tid: int | None = None) -> float:
    """How long a thread (the process's main one by default) has waited, runnable, for a CPU:
    the second field of /proc/PID/task/TID/schedstat (ns)."""
    stat = Path(f"/proc/{pid}/task/{tid or pid}/schedstat").read_text().split()
    return int(stat[1]) / 1e6


def waits(proxy: Proxy, backends: Backends) -> dict[str, float]:
    """The proxy's event-loop thread and the backends' thread: time waited for a CPU so far."""
    return {
        "proxy": run_delay_ms(proxy.process.pid),
        "backends": run_delay_ms(os.getpid(), backends.thread_id),
    }


def waited(since: dict[str, float], now: dict[str, float]) -> dict[str, float]:
    return {k: round(now[k] - since[k], 1) for k in now}


@dataclass
class Watch:
    """Samples the proxy (RSS, its open connections gauge, /ready) in a thread until stopped."""

    proxy: Proxy
    every: float = 0.5
    rss_kib: list[int] = field(default_factory=list)
    connections: list[float] = field(default_factory=list)
    admin_failures: int = 0
    admin_answers: int = 0
    admin_slowest: float = 0.0

    def __post_init__(self) -> None:
        self._cpu = (cpu_seconds(self.proxy.process.pid), time.monotonic())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.rss_kib.append(self.proxy.rss_kib())
                began = time.monotonic()
                status, _ = self.proxy.admin("/ready")
                metrics = self.proxy.admin("/metrics")[1]
                self.admin_slowest = max(self.admin_slowest, time.monotonic() - began)
                self.admin_answers += 1
                if status != 200:
                    self.admin_failures += 1
                total = 0.0
                for line in metrics.splitlines():
                    if line.startswith("meshproxy_downstream_connections{"):
                        total += float(line.rsplit(" ", 1)[1])
                self.connections.append(total)
            except OSError:
                self.admin_failures += 1
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        cpu, at = self._cpu
        self._cpu = (cpu_seconds(self.proxy.process.pid) - cpu, time.monotonic() - at)

    def cpu_share(self) -> float:
        """The proxy's CPU time over the wall time watched (1.0: one core), once stopped."""
        cpu, wall = self._cpu
        return round(cpu / wall, 3)


# --- the attacker and the well-behaved client ----------------------------------------------------


# The attacker at the lowest priority: `idle` (the default) runs it under SCHED_IDLE, `nice` at
# nice 19 (the older way). Sharing a core with the backends and the client, neither kept them from
# waiting for it (bench/hostile/REPORT.md, table A: this kernel does not preempt slowhttptest
# inside its poll over every socket it holds); what does is a core of its own (`attacker` above).
ATTACKER_SCHED = os.environ.get("MESHGATE_HOSTILE_ATTACKER_SCHED", "idle")
ATTACKER_PRIORITY = (
    ["chrt", "--idle", "0"] if ATTACKER_SCHED == "idle" and shutil.which("chrt")
    else ["nice", "-n", "19"]
)  # fmt: skip


class SlowHttpTest:
    """slowhttptest against the gateway, its per-second CSV kept for the connection counts."""

    def __init__(self, tmp: Path, port: int, mode: str, *extra: str) -> None:
        self.prefix = tmp / f"slowhttptest-{mode.strip('-')}"
        path = "/big/attack" if mode == "-X" else "/api/attack"
        cpus = ["taskset", "-c", ",".join(map(str, sorted(PINNING["attacker"])))] if PINNING else []
        argv = [*cpus, *ATTACKER_PRIORITY, SLOWHTTPTEST, mode, "-g", "-o", str(self.prefix), *extra,
                "-u", f"http://127.0.0.1:{port}{path}"]  # fmt: skip
        self.priority = "idle" if ATTACKER_PRIORITY[0] == "chrt" else "nice 19"
        self.log = open(tmp / f"slowhttptest{mode}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        self.started = time.monotonic()
        self.cpu_share = 0.0

    def connected_peak(self) -> int:
        """The most connections slowhttptest held open at once (its CSV's `connected`)."""
        path = self.prefix.with_suffix(".csv")
        if not path.exists():
            return 0
        with path.open() as f:
            rows = list(csv.DictReader(f))
        return max((int(r.get("Connected", 0) or 0) for r in rows), default=0)

    def stop(self) -> None:
        if self.process.poll() is None:
            wall = time.monotonic() - self.started
            self.cpu_share = round(cpu_seconds(self.process.pid) / wall, 3)
            os.kill(self.process.pid, signal.SIGINT)  # writes its CSV and exits
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()
        # The attacker's own view beside the figures: bench/out/hostile/.
        OUT.mkdir(parents=True, exist_ok=True)
        for path in (self.prefix.with_suffix(".csv"), Path(self.log.name)):
            if path.exists():
                shutil.copy(path, OUT / path.name)


def paced(port: int, rate: float, seconds: float, path: str = "/api/ok", connections: int = 8,
          timeout: float = 5.0) -> dict[str, Any]:  # fmt: skip
    """The well-behaved client: `rate` requests/s for `seconds` from CLIENT_ADDRESS; its
    summary (ok, shed, failed, latency p50/p99/max in ms)."""
    # One report, at the end: nothing in the client's process computes quantiles mid-window.
    # It then waits that interval again before its summary (load.py): the run takes twice it.
    interval = seconds + timeout
    argv = [PYTHON, str(LOAD), "--port", str(port), "--rate", str(rate),
            "--seconds", str(seconds), "--connections", str(connections),
            "--timeout", str(timeout), "--interval", str(interval),
            "--source", CLIENT_ADDRESS, "--path", path]  # fmt: skip
    tcp = tcp_counters()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + interval + 60)
    assert out.returncode == 0, out.stderr[-2000:]
    summary: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    summary["client_cpu_s"] = round(cpu, 2)
    summary["tcp"] = {k: v - tcp.get(k, 0) for k, v in tcp_counters().items()}
    return summary


def logged_durations(
    proxy: Proxy, status: int, path: str = "", first: int = 0, count: int | None = None
) -> dict[str, float]:
    """The proxy's own view of its answers with `status` (to `path`, when given; the `count`
    of them from the `first`, in the log's order): p50/p99/max of the access log's
    `duration_ms` (from the request's head parsed to its answer written)."""
    durations = []
    for line in (proxy.tmp / "proxy.log").read_text(errors="replace").splitlines():
        if line.startswith('{"listener"') and f'"status":{status},' in line:
            record = json.loads(line)
            if not path or record["path"] == path:
                durations.append(float(record["duration_ms"]))
    durations = durations[first : None if count is None else first + count]
    durations.sort()
    if len(durations) < 20:
        return {"count": len(durations)}
    q = statistics.quantiles(durations, n=100, method="inclusive")
    return {"count": len(durations), "p50_ms": round(q[49], 3), "p99_ms": round(q[98], 3),
            "max_ms": durations[-1]}  # fmt: skip


def capacity(port: int, connections: int, seconds: float, path: str) -> dict[str, Any]:
    """The most the gateway serves closed-loop with `connections` clients back to back."""
    argv = [PYTHON, str(LOAD), "--port", str(port), "--capacity", "--seconds", str(seconds),
            "--connections", str(connections), "--path", path]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    assert out.returncode == 0, out.stderr[-2000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["failed"] == 0, result
    return result


def report(name: str, figures: dict[str, Any]) -> None:
    """Latency and memory figures are recorded, never asserted: into bench/out/hostile/."""
    out = OUT
    out.mkdir(parents=True, exist_ok=True)
    figures = {"test": name, "load1": os.getloadavg()[0], "at": time.strftime("%H:%M:%S"),
               **figures}  # fmt: skip
    (out / f"{name}.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))


@contextlib.contextmanager
def attack(tmp: Path, port: int, mode: str, *extra: str) -> Any:
    """slowhttptest against the proxy on `port`, or, in a control run (CONTROL), against a sink
    on the attacker's core."""
    sink = Sink() if CONTROL else None
    attacker = SlowHttpTest(tmp, sink.port if sink is not None else port, mode, *extra)
    try:
        yield attacker
    finally:
        attacker.stop()
        if sink is not None:
            sink.stop()


# A control run (MESHGATE_HOSTILE_TARGET=sink): the same attack, on the same core, against a
# server that reads and drops everything (bench/hostile/sink.py) instead of the proxy. What the
# client's p99 does then is what an attacker merely being on this machine costs it: the floor
# under every ratio the real runs give (bench/hostile/REPORT.md).
CONTROL = os.environ.get("MESHGATE_HOSTILE_TARGET", "proxy") == "sink"


class Sink:
    """bench/hostile/sink.py on a free port, on the attacker's cores; stopped by its PID."""

    def __init__(self) -> None:
        self.port = free_port()
        cpus = ["taskset", "-c", ",".join(map(str, sorted(PINNING["attacker"])))] if PINNING else []
        argv = [*cpus, PYTHON, str(REPO / "bench" / "hostile" / "sink.py"), str(self.port)]
        self.process = subprocess.Popen(argv)
        wait_until(self._accepts, 10, "the sink to listen")

    def _accepts(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
            return True
        return False

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


def cpu_times() -> dict[str, tuple[int, int]]:
    """Per CPU, jiffies busy (user, nice, system, irq, softirq) and stolen by the host, from
    /proc/stat."""
    found = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name != "cpu":
            n = [int(f) for f in fields]
            found[name] = (n[0] + n[1] + n[2] + n[5] + n[6], n[7])
    return found


def cpu_spent(since: dict[str, tuple[int, int]]) -> dict[str, dict[str, float]]:
    """Per CPU since `since`: seconds busy and milliseconds the host stole (a VM's vCPU not
    running at all: a stall for whatever was on it)."""
    tick = os.sysconf("SC_CLK_TCK")
    now = cpu_times()
    return {
        cpu: {
            "busy_s": round((now[cpu][0] - since[cpu][0]) / tick, 2),
            "steal_ms": round((now[cpu][1] - since[cpu][1]) * 1000 / tick, 1),
        }
        for cpu in now
        if cpu in since
    }


__all__ = ["BUFFER_SHARE", "Proxy", "wait_until"]
