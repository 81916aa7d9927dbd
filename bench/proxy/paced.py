"""A paced HTTP/1.1 load generator: a fixed send schedule, latency counted from that schedule.

wrk only saturates, and no wrk2 package exists for this machine, so this measures latency at a
fixed rate instead. Request i is due at `start + i / rate` and goes on connection `i % C`
(keep-alive, opened before the clock starts). Its latency runs from the due time whenever the
connection was still busy with an earlier response then, so a slow target's backlog is counted
(no coordinated omission); otherwise from the moment the request is written, because the event
loop's timers fire at millisecond granularity and that lateness is the generator's own, not the
target's. Bounded in count (`rate * seconds` or `--requests`) and in time (`seconds + 5` s).
127.0.0.1 only. Prints one JSON object.

    .venv/bin/python bench/proxy/paced.py --port 8080 --rate 2000 --seconds 4
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

REQUEST = b"GET / HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: meshgate-bench\r\n\r\n"
GRACE_SECONDS = 5.0


class _Client(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
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
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(self.parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionResetError("closed by peer"))

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def send(self) -> asyncio.Future[int]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(REQUEST)
        return self.waiter


async def _connection(
    port: int,
    first: int,
    step: int,
    total: int,
    start: float,
    rate: float,
    deadline: float,
    latencies: list[float],
    outcome: dict[str, int],
) -> None:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(_Client, "127.0.0.1", port)
    free_at = start
    clock = time.perf_counter  # uvloop's loop.time() only moves in whole milliseconds
    try:
        for i in range(first, total, step):
            due = start + i / rate
            now = clock()
            if now < due:
                await asyncio.sleep(due - now)
            sent = clock()
            if sent > deadline:
                outcome["unsent"] += len(range(i, total, step))
                return
            began = due if free_at > due else sent
            try:
                status = await asyncio.wait_for(client.send(), deadline - sent)
            except (OSError, TimeoutError, httptools.HttpParserError):
                outcome["errors"] += 1
                return
            free_at = clock()
            latencies.append(free_at - began)
            outcome["ok" if 200 <= status < 300 else "bad_status"] += 1
    finally:
        assert client.transport is not None
        client.transport.close()


async def run(port: int, rate: float, total: int, connections: int) -> dict[str, Any]:
    latencies: list[float] = []
    outcome = {"ok": 0, "bad_status": 0, "errors": 0, "unsent": 0}
    wall = time.perf_counter()
    start = wall + 0.2  # every connection is open before the first request is due
    deadline = start + total / rate + GRACE_SECONDS
    await asyncio.gather(
        *(
            _connection(port, k, connections, total, start, rate, deadline, latencies, outcome)
            for k in range(connections)
        )
    )
    elapsed = time.perf_counter() - wall - 0.2
    result: dict[str, Any] = {"requests": total, "rate": rate, "connections": connections}
    result.update(outcome)
    result["achieved_rate"] = round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0
    if len(latencies) >= 100:
        q = statistics.quantiles(latencies, n=1000, method="inclusive")
        result["p50_us"] = round(q[499] * 1e6, 1)
        result["p90_us"] = round(q[899] * 1e6, 1)
        result["p99_us"] = round(q[989] * 1e6, 1)
        result["max_us"] = round(max(latencies) * 1e6, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=2000.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--requests", type=int, help="a fixed count instead of rate * seconds")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    total = args.requests if args.requests else int(args.rate * args.seconds)
    result = uvloop.run(run(args.port, args.rate, total, args.connections))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0 if result["errors"] == 0 and result["unsent"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
