"""The proxy's CPU per slowloris header line with N connections held, from /proc.

    .venv/bin/python bench/hostile/header_line_cost.py 10000 [ROUNDS] [--floor] [--profile OUT]

Starts the hostile tests' gateway (tests/e2e/hostile/hostile_kit.py) on loopback, opens N
connections that each send an unfinished request head, measures the proxy's CPU while they are
silent (what holding them costs), then sends one header line on each, ROUNDS times (3), and
prints the proxy's CPU per line (idle share subtracted), user and system apart. CPU seconds, not
wall time: load barely moves it. `--floor` measures a bare uvloop server instead (a protocol whose
`data_received` does nothing): what any server on this event loop pays per read, the kernel's
epoll and read included. `--profile OUT` records the lines with py-spy (`--native`, raw samples).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
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


def main(held: int, rounds: int, floor: bool, profile: str | None) -> None:
    kit.raise_open_files_limit()
    socks: list[socket.socket] = []
    with _server(floor) as (pid, port, proxy):
        try:
            for _ in range(held):
                sock = socket.create_connection(("127.0.0.1", port))
                sock.sendall(b"GET /api/x HTTP/1.1\r\nHost: a\r\n")
                socks.append(sock)
            time.sleep(3)  # every connection accepted and its first read done
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
    if "--profile" in args:
        at = args.index("--profile")
        profile_to = args[at + 1]
        del args[at : at + 2]
    bare = "--floor" in args
    numbers = [int(a) for a in args if a != "--floor"]
    main(numbers[0], numbers[1] if len(numbers) > 1 else 3, bare, profile_to)
