"""The proxy's CPU per slowloris header line with N connections held, from /proc.

    .venv/bin/python bench/hostile/header_line_cost.py 10000

Starts the hostile tests' gateway (tests/e2e/hostile/hostile_kit.py) on loopback, opens N
connections that each send an unfinished request head, measures the proxy's CPU while they are
silent (what holding them costs), then sends one header line on each, three times, and prints the
proxy's CPU per line (idle share subtracted). CPU seconds, not wall time: load barely moves it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests" / "e2e" / "hostile"), str(REPO / "tests" / "e2e")]

import hostile_kit as kit  # noqa: E402 - the path line above

ROUNDS = 3
LIMITS = "{maxConnections: 20000, maxConnectionsPerClient: 20000, headerTimeout: 600s}"


def main(held: int) -> None:
    kit.raise_open_files_limit()
    backends = kit.Backends()
    proxy, port = kit.start_gateway(Path(tempfile.mkdtemp(prefix="hostile-")), LIMITS, backends)
    pid = proxy.process.pid
    socks: list[socket.socket] = []
    try:
        for _ in range(held):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /api/x HTTP/1.1\r\nHost: a\r\n")
            socks.append(sock)
        kit.wait_until(lambda: proxy.metric("meshproxy_downstream_connections") >= held, 60)
        time.sleep(2)
        cpu, began = kit.cpu_seconds(pid), time.monotonic()
        time.sleep(5)
        idle = (kit.cpu_seconds(pid) - cpu) / (time.monotonic() - began)
        cpu, began = kit.cpu_seconds(pid), time.monotonic()
        for r in range(ROUNDS):
            for sock in socks:
                sock.sendall(b"X-a: %d\r\n" % r)
        time.sleep(3)
        used = kit.cpu_seconds(pid) - cpu - idle * (time.monotonic() - began)
        print(json.dumps({"connections": held, "lines": held * ROUNDS,
                          "idle_cpu_share": round(idle, 4),
                          "us_per_header_line": round(used / (held * ROUNDS) * 1e6, 1),
                          "rss_kib": proxy.rss_kib(), "load1": os.getloadavg()[0]}))  # fmt: skip
    finally:
        for sock in socks:
            sock.close()
        proxy.stop()
        backends.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
