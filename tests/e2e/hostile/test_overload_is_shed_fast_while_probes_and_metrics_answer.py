"""More load than the gateway can serve: it sheds the excess at once with 503 and `Retry-After`
instead of queueing it, every request is served or refused (none waits past its timeout),
memory stays under the ceiling, and `/ready` and `/metrics` answer throughout. Past the memory
ceiling new connections are refused while the admin port still answers.

Saturation is measured, not assumed: the listener takes at most `maxPendingRequests` requests
in progress and the app answers `/api/slow` in 50 ms, so the closed-loop throughput with that
many clients is the path's capacity; the open-loop load is then twice that. Latencies (served
and refused) are recorded in bench/out/hostile/overload.json, never asserted.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_kit import (
    Backends,
    Watch,
    capacity,
    logged_durations,
    paced,
    raise_open_files_limit,
    report,
    start_gateway,
    wait_until,
)

pytestmark = pytest.mark.e2e

PENDING = 16
SECONDS = 20
CEILING = 256 * 1024 * 1024  # the proxy's memory ceiling in this test
HITS = "meshproxy_limit_hits_total"


@pytest.fixture
def backends() -> Iterator[Backends]:
    raise_open_files_limit()
    pool = Backends()
    try:
        yield pool
    finally:
        pool.close()


def test_twice_the_capacity_is_served_or_refused_fast_and_probes_answer(
    tmp_path: Path, backends: Backends
) -> None:
    proxy, port = start_gateway(
        tmp_path, f"{{maxPendingRequests: {PENDING}}}", backends, {"memoryCeilingBytes": CEILING}
    )
    try:
        saturation = capacity(port, PENDING, 5, "/api/slow")
        offered = round(2 * saturation["capacity_rps"], 1)
        watch = Watch(proxy, every=0.25)
        try:
            load = paced(port, offered, SECONDS, "/api/slow", connections=4 * PENDING)
        finally:
            watch.stop()
        figures = {
            "capacity": saturation,
            "offered_rps": offered,
            "load": load,
            "rss_peak_kib": max(watch.rss_kib),
            "ceiling_kib": CEILING // 1024,
            "admin_answers": watch.admin_answers,
            "admin_failures": watch.admin_failures,
            "admin_slowest_s": round(watch.admin_slowest, 3),
            "proxy_cpu_share": watch.cpu_share(),
            "shed_counted": proxy.metric(HITS, limit="max_pending_requests"),
            "proxy_view_refused": logged_durations(proxy, 503),
            "proxy_view_served": logged_durations(proxy, 200),
        }
        report("overload", figures)
        total = int(offered * SECONDS)
        assert load["failed"] == 0, load  # nothing timed out, reset or answered otherwise
        assert load["ok"] + load["shed"] == total
        assert load["shed"] > 0  # the excess was refused...
        assert load["ok"] > 0  # ...and the rest served
        assert proxy.metric(HITS, limit="max_pending_requests") == load["shed"]
        assert max(watch.rss_kib) * 1024 < CEILING
        assert proxy.metric("meshproxy_overloaded") == 0
        assert watch.admin_failures == 0
        assert watch.admin_answers >= SECONDS * 2  # /ready and /metrics answered throughout
        assert '"flags":"max_pending_requests"' in (proxy.tmp / "proxy.log").read_text()
    finally:
        proxy.stop()


def test_past_the_memory_ceiling_connections_are_refused_and_the_admin_port_answers(
    tmp_path: Path, backends: Backends
) -> None:
    # A ceiling below what any proxy takes: it is over it from the first sample.
    proxy, port = start_gateway(tmp_path, "{}", backends, {"memoryCeilingBytes": 1 << 20})
    try:
        wait_until(lambda: proxy.metric("meshproxy_overloaded") == 1, 10, "overload")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /api/ok HTTP/1.1\r\nHost: a\r\n\r\n")
            try:
                answer = sock.recv(1024)
            except ConnectionResetError:
                answer = b""
        assert answer == b""  # closed before a byte was read
        assert proxy.admin("/ready")[0] == 200
        assert proxy.metric("meshproxy_limit_hits_total", limit="memory_ceiling") >= 1
        assert proxy.metric("meshproxy_memory_ceiling_bytes") == 1 << 20
        assert backends.counts == {}
    finally:
        proxy.stop()
