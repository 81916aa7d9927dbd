"""The soak's client: a paced open-loop HTTP/1.1 load, reported every few seconds.

Request i is due at `start + i / rate` on keep-alive connection `i % connections`; its latency
runs from its due time (a connection still busy then counts the backlog: no coordinated
omission). Every request has a timeout; a failed one (error, timeout, non-2xx) is counted and
its connection replaced. Every `--interval` seconds one JSON line goes to stdout: the interval's
ok, shed (503) and failed counts and their latency p50/p99/max; the last line (`"summary":
true`) is the same for the whole run. Bounded by `--seconds` (+ the timeout).

    python load.py --port 8080 --rate 300 --seconds 1800 --connections 16
    python load.py --port 8080 --capacity --seconds 15 --connections 16   # closed loop
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import time
from typing import Any, cast

import httptools
import uvloop

REQUEST = b"GET %s HTTP/1.1\r\nHost: soak.local\r\nUser-Agent: meshgate-soak\r\n\r\n"


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None
        self.keep_alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()  # `connection: close` is honoured
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(self.parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionResetError("closed by peer"))

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)


class Window:
    """What happened since the last report."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.shed: list[float] = []  # answered 503: refused by an overloaded proxy
        self.failed = 0
        self.errors: dict[str, int] = {}

    def fail(self, why: str) -> None:
        self.failed += 1
        self.errors[why] = self.errors.get(why, 0) + 1


async def _connection(
    port: int, first: int, step: int, total: int, start: float, rate: float,
    limit: float, windows: list[Window], source: str | None, everything: Window, request: bytes,
) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()
    clock = time.perf_counter
    conn: _Conn | None = None
    free_at = start
    for i in range(first, total, step):
        due = start + i / rate
        now = clock()
        if now < due:
            await asyncio.sleep(due - now)
        began = due if free_at > due else clock()
        window = windows[-1]
        try:
            if conn is None or conn.transport is None or conn.transport.is_closing():
                local = (source, 0) if source else None
                _, conn = await asyncio.wait_for(
                    loop.create_connection(_Conn, "127.0.0.1", port, local_addr=local), limit
                )
            conn.waiter = loop.create_future()
            assert conn.transport is not None
            conn.transport.write(request)
            status = await asyncio.wait_for(conn.waiter, limit)
        except (OSError, TimeoutError, httptools.HttpParserError) as exc:
            window.fail(type(exc).__name__)
            everything.fail(type(exc).__name__)
            if conn is not None and conn.transport is not None:
                conn.transport.abort()
            conn = None
            free_at = clock()
            continue
        free_at = clock()
        if not conn.keep_alive:
            assert conn.transport is not None
            conn.transport.close()
            conn = None
        if 200 <= status < 300:
            window.latencies.append(free_at - began)
            everything.latencies.append(free_at - began)
        elif status == 503:
            window.shed.append(free_at - began)
            everything.shed.append(free_at - began)
        else:
            window.fail(f"status {status}")
            everything.fail(f"status {status}")
    if conn is not None and conn.transport is not None:
        conn.transport.close()


async def _closed(port: int, until: float, limit: float, window: Window, request: bytes) -> None:
    """Back to back on one connection until `until`: how fast the path answers at most."""
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(_Conn, "127.0.0.1", port)
    clock = time.perf_counter
    while clock() < until:
        began = clock()
        conn.waiter = loop.create_future()
        assert conn.transport is not None
        conn.transport.write(request)
        try:
            status = await asyncio.wait_for(conn.waiter, limit)
        except (OSError, TimeoutError, httptools.HttpParserError) as exc:
            window.fail(type(exc).__name__)
            return
        if 200 <= status < 300:
            window.latencies.append(clock() - began)
        else:
            window.fail(f"status {status}")
    assert conn.transport is not None
    conn.transport.close()


async def capacity(args: argparse.Namespace) -> None:
    window = Window()
    began = time.perf_counter()
    until = began + args.seconds
    await asyncio.gather(
        *(
            _closed(args.port, until, args.timeout, window, args.request)
            for _ in range(args.connections)
        )
    )
    elapsed = time.perf_counter() - began
    print(json.dumps({"capacity_rps": round(len(window.latencies) / elapsed, 1),
                      "ok": len(window.latencies), "failed": window.failed,
                      "connections": args.connections, "seconds": round(elapsed, 2)}))  # fmt: skip


async def _report(windows: list[Window], interval: float, until: float) -> None:
    while time.perf_counter() < until:
        await asyncio.sleep(interval)
        window = windows[-1]
        windows.append(Window())
        print(json.dumps({"t": round(time.time(), 3), **figures(window)}), flush=True)


def figures(window: Window) -> dict[str, Any]:
    record: dict[str, Any] = {
        "ok": len(window.latencies),
        "shed": len(window.shed),
        "failed": window.failed,
        "errors": window.errors,
    }
    for name, values in (("", window.latencies), ("shed_", window.shed)):
        lat = sorted(values)
        if len(lat) >= 20:
            q = statistics.quantiles(lat, n=100, method="inclusive")
            record[f"{name}p50_ms"] = round(q[49] * 1e3, 3)
            record[f"{name}p99_ms"] = round(q[98] * 1e3, 3)
        if lat:
            record[f"{name}max_ms"] = round(lat[-1] * 1e3, 3)
    return record


async def run(args: argparse.Namespace) -> None:
    total = int(args.rate * args.seconds)
    start = time.perf_counter() + 0.2
    windows = [Window()]
    everything = Window()
    reporter = asyncio.ensure_future(
        _report(windows, args.interval, start + args.seconds + args.timeout + args.interval)
    )
    await asyncio.gather(
        *(
            _connection(args.port, k, args.connections, total, start, args.rate,
                        args.timeout, windows, args.source, everything, args.request)
            for k in range(args.connections)
        )
    )  # fmt: skip
    await asyncio.sleep(args.interval)  # the last window is reported
    reporter.cancel()
    print(json.dumps({"summary": True, **figures(everything)}), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--capacity", action="store_true", help="closed loop: the most it serves")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--source", default=None, help="local address to connect from")
    parser.add_argument("--path", default="/soak")
    args = parser.parse_args(argv)
    args.request = REQUEST % args.path.encode()
    uvloop.run(capacity(args) if args.capacity else run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
