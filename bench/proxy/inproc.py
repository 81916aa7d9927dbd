"""meshproxy's own Python cost per request, with no sockets: the real stack, fake transports.

The saturation runs mix the proxy's CPU with the kernel's and with whatever else shares this
machine; this isolates the part an optimisation of the request path changes. It builds the
bench's meshproxy config (`targets.meshproxy`: route match, metrics, tracing ids, access log to
a file) with the package on `sys.path` (run it with `PYTHONPATH=<dir holding meshproxy>` to
measure another revision), connects a fake client transport to the listener's protocol and a
fake upstream transport to the cluster's pool, then drives N keep-alive requests one after
another: the client's bytes in, the upstream's head out, the backend's ~100-byte response in,
the response out. It reports the process CPU µs per request (median of `--runs`), on uvloop,
with `--general` forcing the Task-per-request path for comparison.

Figures only, never assertions; nothing is started or listened on.

    .venv/bin/python bench/proxy/inproc.py [--requests 20000] [--runs 5] [--general]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import targets
import uvloop

REQUEST = b"GET / HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: wrk\r\n\r\n"
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 10:00:00 GMT\r\n"
    b"Content-Type: text/plain\r\nContent-Length: %d\r\nConnection: keep-alive\r\n\r\n%s"
    % (len(targets.BODY), targets.BODY.encode())
)


class FakeTransport:
    """Just enough of a uvloop transport: writes are kept (the last one) and counted."""

    def __init__(self) -> None:
        self.last = b""
        self.writes = 0
        self.closing = False

    def write(self, data: bytes) -> None:
        self.last = data
        self.writes += 1

    def writelines(self, parts: Any) -> None:
        self.write(b"".join(parts))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}.get(
            name, default
        )


async def _drive(requests: int, runs: int, general: bool) -> list[float]:
    from meshproxy import config, stack
    from meshproxy.observability.metrics import Registry
    from meshproxy.server.protocol import HttpServerProtocol
    from meshproxy.server.state import ListenerState
    from meshproxy.upstream.connection import UpstreamConnection

    workdir = Path(tempfile.mkdtemp(prefix="meshproxy-inproc-"))
    launch = targets.meshproxy(workdir, 8080, 9090, 15090, None)
    cfg = config.parse_config(launch.files["meshproxy.json"])
    built = stack.build(cfg, Registry())
    listener_stack = built.stacks["edge"]
    if general:
        for name in ("start", "direct"):  # what drives a chain by callbacks, by version
            if hasattr(listener_stack, name):
                setattr(listener_stack, name, None)
    pool = next(iter(built.clusters["be"].pools.values()))
    upstream_transport = FakeTransport()
    upstream = UpstreamConnection(pool)
    upstream.connection_made(upstream_transport)  # type: ignore[arg-type]
    pool._total += 1
    pool.release(upstream, True)
    state = ListenerState(listener_stack, "http")
    client = HttpServerProtocol(state)
    client_transport = FakeTransport()
    client.connection_made(client_transport)  # type: ignore[arg-type]

    async def one() -> None:
        # One loop turn after each read whichever path runs, as a socket read would cost: the
        # driver's own cost is then the same for both and cancels out of a comparison.
        before = upstream_transport.writes
        client.data_received(REQUEST)
        await asyncio.sleep(0)
        while upstream_transport.writes == before:  # noqa: ASYNC110 - a Task's turn, not an event
            await asyncio.sleep(0)
        before = client_transport.writes
        upstream.data_received(RESPONSE)
        await asyncio.sleep(0)
        while client_transport.writes == before:  # noqa: ASYNC110
            await asyncio.sleep(0)

    for _ in range(1000):  # warm-up
        await one()
    per_request = []
    for _ in range(runs):
        cpu0 = time.process_time()
        for _ in range(requests):
            await one()
        per_request.append((time.process_time() - cpu0) / requests * 1e6)
    assert b" 200 " in client_transport.last, client_transport.last[:200]
    if built.access_log is not None:
        built.access_log.close()
    return per_request


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--general", action="store_true", help="no direct path")
    args = parser.parse_args(argv)
    figures = uvloop.run(_drive(args.requests, args.runs, args.general))
    print(
        json.dumps(
            {
                "cpu_us_per_request": round(statistics.median(figures), 2),
                "runs": [round(f, 2) for f in figures],
                "loadavg": Path("/proc/loadavg").read_text().split()[0],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
