"""The proxy's CPU per slowloris header line with N connections held, from /proc.

    .venv/bin/python bench/hostile/header_line_cost.py 10000 [ROUNDS] [--floor] [--profile OUT]
    .venv/bin/python bench/hostile/header_line_cost.py 10000 --probe SECONDS
    .venv/bin/python bench/hostile/header_line_cost.py 10000 --queued ROUNDS

Starts the hostile tests' gateway (tests/e2e/hostile/hostile_kit.py) on loopback, opens N
connections that each send an unfinished request head, measures the proxy's CPU while they are
silent (what holding them costs), then sends one header line on each, ROUNDS times (3), and
prints the proxy's CPU per line (idle share subtracted), user and system apart. CPU seconds, not
wall time: load barely moves it. `--floor` measures a bare uvloop server instead (a protocol whose
`data_received` does nothing): what any server on this event loop pays per read, the kernel's
epoll and read included. `--profile OUT` records the lines with py-spy (`--native`, raw samples).

`--probe SECONDS`: the well-behaved client of the hostile tests (100 requests/s, from another
address) for SECONDS with the N connections held and silent, then for SECONDS while every one of
them gets its next line at once every second (slowhttptest's bursts, made by this process): its
p50/p99/max in each phase, and the p99 ratio. Wall-clock: compare trees in the same conditions.

`--queued ROUNDS`: the worst case of a burst, made exact. The proxy is stopped (SIGSTOP), every
held connection gets its next line and then a well-behaved request is sent on a kept-alive
connection, and the proxy is let go (SIGCONT): how much CPU the proxy spent before that request's
answer reached the client (its own on-CPU nanoseconds, /proc/PID/schedstat, so the machine's load
barely moves it), and the wall time. Every attacking line is read before the request, or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests" / "e2e" / "hostile"), str(REPO / "tests" / "e2e")]

import hostile_kit as kit  # noqa: E402 - the path line above

LIMITS = "{maxConnections: 20000, maxConnectionsPerClient: 20000, headerTimeout: 600s}"
PY_SPY = REPO / ".venv" / "bin" / "py-spy"


def cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


class _Nothing(asyncio.Protocol):
    def data_received(self, data: bytes) -> None:
        pass


def _bare_server() -> None:
    """A uvloop server on an ephemeral port that reads and ignores; prints its port."""
    import uvloop

    kit.raise_open_files_limit()

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(
            _Nothing, "127.0.0.1", 0, backlog=4096
        )
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(3600)

    uvloop.run(serve())


@contextlib.contextmanager
def _server(floor: bool) -> Iterator[tuple[int, int, Any]]:
    """(pid, port, proxy) of the proxy (the hostile tests' gateway) or of a bare uvloop server
    (proxy None)."""
    if floor:
        bare = subprocess.Popen(
            [sys.executable, __file__, "--serve-bare"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert bare.stdout is not None
            yield bare.pid, int(bare.stdout.readline()), None
        finally:
            bare.kill()
            bare.wait(10)
        return
    backends = kit.Backends()
    proxy, port = kit.start_gateway(Path(tempfile.mkdtemp(prefix="hostile-")), LIMITS, backends)
    try:
        yield proxy.process.pid, port, proxy
    finally:
        proxy.stop()
        backends.close()


def _lane(proxy: Any) -> dict[str, float]:
    """The proxy's slow-lane counters, where it has them (0 for a tree without the lane)."""
    if proxy is None:
        return {}
    return {name: proxy.metric(f"meshproxy_slow_lane_{name}_total") for name in ("held", "reads")}


def _probe(port: int, socks: list[socket.socket], seconds: int, proxy: Any) -> None:
    """The well-behaved client's latency with the connections silent, then under bursts."""
    quiet = kit.paced(port, 100, seconds)
    done = threading.Event()

    def bursts() -> None:
        r = 0
        while not done.is_set():
            for sock in socks:
                sock.sendall(b"X-b: %d\r\n" % r)
            r += 1
            done.wait(1.0)

    sender = threading.Thread(target=bursts)
    sender.start()
    try:
        under = kit.paced(port, 100, seconds)
    finally:
        done.set()
        sender.join()
    keys = ("ok", "failed", "p50_ms", "p99_ms", "max_ms")
    print(json.dumps({"connections": len(socks), "seconds": seconds,
                      "silent": {k: quiet[k] for k in keys},
                      "bursts_every_1s": {k: under[k] for k in keys},
                      "p99_ratio": round(under["p99_ms"] / quiet["p99_ms"], 2),
                      "load1": os.getloadavg()[0], **_lane(proxy)}))  # fmt: skip


def _on_cpu_ns(pid: int) -> int:
    """Nanoseconds the process's main thread has run (schedstat's first field)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


def _queued(pid: int, port: int, socks: list[socket.socket], rounds: int, proxy: Any) -> None:
    """The proxy's CPU before a well-behaved request's answer, with a burst queued ahead of it."""
    client = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0))
    request = b"GET /api/ok HTTP/1.1\r\nHost: a\r\n\r\n"

    def answer() -> None:
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = client.recv(65536)
            assert chunk, got
            got += chunk
        head, _, body = got.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(body) < length:
            body += client.recv(65536)

    client.sendall(request)
    answer()  # the upstream connection is open before the first round
    time.sleep(2)  # past the slow lane's second: every attacking connection held, if held at all
    cpu_us: list[float] = []
    wall_ms: list[float] = []
    for r in range(rounds):
        os.kill(pid, signal.SIGSTOP)
        try:
            for sock in socks:
                sock.sendall(b"X-q: %d\r\n" % r)
            client.sendall(request)
            began_ns = _on_cpu_ns(pid)
        finally:
            os.kill(pid, signal.SIGCONT)
        began = time.monotonic()
        answer()
        wall_ms.append((time.monotonic() - began) * 1e3)
        cpu_us.append((_on_cpu_ns(pid) - began_ns) / 1e3)
        time.sleep(1.5)  # the rest of the burst read before the next round
    client.close()
    print(json.dumps({"connections": len(socks), "rounds": rounds,
                      "proxy_cpu_us_before_answer": [round(c) for c in cpu_us],
                      "median_cpu_us": round(statistics.median(cpu_us)),
                      "wall_ms": [round(w, 1) for w in wall_ms],
                      "median_wall_ms": round(statistics.median(wall_ms), 1),
                      "load1": os.getloadavg()[0], **_lane(proxy)}))  # fmt: skip


def main(
    held: int, rounds: int, floor: bool, profile: str | None, probe: int = 0, queued: int = 0
) -> None:
    kit.raise_open_files_limit()
    socks: list[socket.socket] = []
    with _server(floor) as (pid, port, proxy):
        try:
            for _ in range(held):
                sock = socket.create_connection(("127.0.0.1", port))
                sock.sendall(b"GET /api/x HTTP/1.1\r\nHost: a\r\n")
                socks.append(sock)
            time.sleep(3)  # every connection accepted and its first read done
            if probe:
                _probe(port, socks, probe, proxy)
                return
            if queued:
                _queued(pid, port, socks, queued, proxy)
                return
            (user, system), began = cpu(pid), time.monotonic()
            time.sleep(5)
            idle = sum(cpu(pid)) - user - system
            idle_share = idle / (time.monotonic() - began)
            spy = None
            if profile:
                argv = [str(PY_SPY), "record", "--native", "--format", "raw", "-r", "1000",
                        "-p", str(pid), "-o", profile, "-d", "600"]  # fmt: skip
                spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(2)
            (user, system), began = cpu(pid), time.monotonic()
            for r in range(rounds):
                for sock in socks:
                    sock.sendall(b"X-a: %d\r\n" % r)
                time.sleep(0.5)
            time.sleep(2)
            user_after, system_after = cpu(pid)
            if spy is not None:
                spy.send_signal(2)
                spy.wait(60)
            lines = held * rounds
            idle_part = idle_share * (time.monotonic() - began)
            user_used = user_after - user
            system_used = system_after - system
            print(json.dumps({
                "server": "bare uvloop" if floor else "meshproxy", "connections": held,
                "lines": lines, "idle_cpu_share": round(idle_share, 4),
                "us_per_header_line": round((user_used + system_used - idle_part) / lines * 1e6, 2),
                "user_us_per_line": round(user_used / lines * 1e6, 2),
                "system_us_per_line": round(system_used / lines * 1e6, 2),
                "load1": os.getloadavg()[0], **_lane(proxy)}))  # fmt: skip
        finally:
            for sock in socks:
                sock.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    if args == ["--serve-bare"]:
        _bare_server()
        sys.exit(0)
    profile_to = None
    probe_seconds = queued_rounds = 0
    if "--queued" in args:
        at = args.index("--queued")
        queued_rounds = int(args[at + 1])
        del args[at : at + 2]
    if "--probe" in args:
        at = args.index("--probe")
        probe_seconds = int(args[at + 1])
        del args[at : at + 2]
    if "--profile" in args:
        at = args.index("--profile")
        profile_to = args[at + 1]
        del args[at : at + 2]
    bare = "--floor" in args
    numbers = [int(a) for a in args if a != "--floor"]
    rounds = numbers[1] if len(numbers) > 1 else 3
    main(numbers[0], rounds, bare, profile_to, probe_seconds, queued_rounds)
