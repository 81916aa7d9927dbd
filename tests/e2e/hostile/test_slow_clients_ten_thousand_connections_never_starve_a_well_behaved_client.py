"""slowhttptest against an operator-compiled edge gateway in its three slow modes, with 10,000
attacking connections (`make test-hostile`; 2,000 in `make test`), while a well-behaved client
sends 100 requests/s from another address.

Each test asserts what must hold whatever the machine's load: the well-behaved client gets no
error and no refusal, the limit meant for the attack fires (counted in the metrics and written
to the access log), no attacking request ever reaches a backend it should not, and the proxy's
resident size stays under the documented bound. Latency is recorded (bench/out/hostile/*.json,
summarised in bench/hostile/REPORT.md), never asserted: this machine's load decides it.

The attack comes from one address (127.0.0.1) standing in for many, so the listener's
`maxConnectionsPerClient` is raised past it, and the one timeout each attack meets is set on the
Gateway listener to outlast the measurement, so the proxy holds every attacking connection while
the client is measured and the limit is then seen firing. The per-client cap itself is shown by
the last test.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hostile_kit import (
    BUFFER_SHARE,
    CONTROL,
    Backends,
    Proxy,
    Watch,
    attack,
    cpu_spent,
    cpu_times,
    logged_durations,
    paced,
    pinned,
    raise_open_files_limit,
    report,
    send_buffers_at_most,
    start_gateway,
    wait_until,
    waited,
    waits,
)

pytestmark = pytest.mark.e2e

# `make test` runs each attack with 2,000 connections; `make test-hostile` with 10,000.
ATTACKERS = int(os.environ.get("MESHGATE_HOSTILE_ATTACKERS", "2000"))
RATE = 100  # the well-behaved client's requests per second
# The client's two windows. A p99 over 2,000 requests is its 20 slowest, a handful of stalls:
# longer windows (MESHGATE_HOSTILE_WINDOW_SECONDS=45, for both: 4,500 requests each) rest on more
# of them (bench/hostile/REPORT.md), and the attack's timeouts stretch with them.
BEFORE_SECONDS = int(os.environ.get("MESHGATE_HOSTILE_WINDOW_SECONDS", "15"))
DURING_SECONDS = int(os.environ.get("MESHGATE_HOSTILE_WINDOW_SECONDS", "20"))
# slowhttptest (at the lowest priority) opens about 80 connections a second on this shared
# two-core machine under load: the ramp is bounded by RAMP_SECONDS, and the attack's own timeout
# outlasts the ramp and the client's window, so every connection opened is still held while the
# client is measured.
RAMP_SECONDS = int(os.environ.get("MESHGATE_HOSTILE_RAMP_SECONDS", "60"))
RAMP_SETTLE_SECONDS = 5  # the ramp is over once the count held has not grown for this long
HOLD = RAMP_SECONDS + DURING_SECONDS + 20  # seconds: the attack's timeout in each test
ATTACK_SECONDS = HOLD + 120  # stopped by the test once done; this only bounds it
# Each attack stands in for many addresses: the per-client and listener caps are lifted past it.
CAPS = "maxConnections: 20000, maxConnectionsPerClient: 20000"
# Documented bound (bench/hostile/REPORT.md): the idle proxy plus 16 KiB per attacking connection.
PER_CONNECTION_BOUND_KIB = 16
HITS = "meshproxy_limit_hits_total"


@pytest.fixture
def backends() -> Iterator[Backends]:
    raise_open_files_limit()
    pool = Backends()
    try:
        yield pool
    finally:
        pool.close()


Gateways = Callable[..., tuple[Proxy, int]]


@pytest.fixture
def gateways(tmp_path: Path, backends: Backends) -> Iterator[Gateways]:
    started: list[Proxy] = []

    def start(limits: str, proxy_limits: dict[str, object] | None = None) -> tuple[Proxy, int]:
        proxy, port = start_gateway(tmp_path, limits, backends, proxy_limits)
        started.append(proxy)
        return proxy, port

    try:
        yield start
    finally:
        for proxy in started:
            proxy.stop()


def _under_attack(
    name: str,
    tmp_path: Path,
    gateway: tuple[Proxy, int],
    limit: str,
    mode: str,
    *options: str,
    backends: Backends,
    answer_kib: int = 0,
    meanwhile: Callable[[Proxy, int], dict[str, object]] | None = None,
) -> tuple[Proxy, Watch, dict[str, object]]:
    """Baseline, then the attack: ramp up (bounded), the client's window, `meanwhile` (still
    under attack: its figures join the report), and the attack's own limit firing (bounded)
    before the attacker stops."""
    proxy, port = gateway
    idle_rss = proxy.rss_kib()
    with pinned(proxy) as cores:
        # The baseline is watched as the attack is (RSS, /ready and /metrics every half second),
        # so that the two windows differ only by the attack.
        calm = Watch(proxy)
        began, spent = waits(proxy, backends), cpu_times()
        try:
            before = paced(port, RATE, BEFORE_SECONDS)
        finally:
            calm.stop()
        before["waited_for_cpu_ms"] = waited(began, waits(proxy, backends))
        before["cpus"] = cpu_spent(spent)
        with attack(tmp_path, port, mode, "-c", str(ATTACKERS), *options) as attacker:
            ramp = _ramped(proxy)
            watch = Watch(proxy)
            began, spent = waits(proxy, backends), cpu_times()
            try:
                during = paced(port, RATE, DURING_SECONDS)
            finally:
                watch.stop()
            during["waited_for_cpu_ms"] = waited(began, waits(proxy, backends))
            during["cpus"] = cpu_spent(spent)
            extra = meanwhile(proxy, port) if meanwhile is not None else {}
            # The attack's connections are cut by their limit, while it goes on.
            if not CONTROL:
                wait_until(lambda: proxy.metric(HITS, limit=limit) > 0, HOLD, f"{limit} to fire")
    # The proxy's own view of the client's requests (head parsed to answer written), beside
    # the client's: what the client waited for outside the proxy's handling is the difference.
    asked = RATE * BEFORE_SECONDS
    proxy_view = {
        "before": logged_durations(proxy, 200, "/api/ok", 0, asked),
        "during": logged_durations(proxy, 200, "/api/ok", asked, RATE * DURING_SECONDS),
    }
    attacker_peak = attacker.connected_peak()
    attacker_cpu = attacker.cpu_share
    peak_rss = max(watch.rss_kib)
    peak_connections = max(watch.connections)
    figures: dict[str, object] = {
        "mode": mode,
        "attackers": ATTACKERS,
        "attacker_connected_peak": attacker_peak,
        "proxy_connections_peak": peak_connections,
        "rss_idle_kib": idle_rss,
        "rss_peak_kib": peak_rss,
        "kib_per_connection": round((peak_rss - idle_rss) / max(peak_connections, 1), 2),
        "before": before,
        "during": during,
        "p99_ratio": round(float(during["p99_ms"]) / float(before["p99_ms"]), 2),
        "proxy_view_ms": proxy_view,
        "ramp": ramp,
        **cores,
        "admin_answers": watch.admin_answers,
        "admin_failures": watch.admin_failures,
        "admin_slowest_s": round(watch.admin_slowest, 3),
        "proxy_cpu_share_before": calm.cpu_share(),
        "proxy_cpu_share": watch.cpu_share(),
        "attacker_cpu_share_whole_attack": attacker_cpu,
        "attacker_priority": attacker.priority,
        "target": "sink" if CONTROL else "proxy",
        f"{limit}_hits": proxy.metric(HITS, limit=limit),
        # Attacking connections read by the slow lane instead of uvloop (0: a tree without it).
        "slow_lane_held": proxy.metric("meshproxy_slow_lane_held_total"),
        "slow_lane_reads": proxy.metric("meshproxy_slow_lane_reads_total"),
        **extra,
    }
    report(name, figures)
    if CONTROL:
        pytest.skip("a control run: the attack went to a sink, its figures are reported")
    for phase in (before, during):
        assert phase["failed"] == 0, phase
        assert phase["shed"] == 0, phase
        assert phase["ok"] == RATE * (BEFORE_SECONDS if phase is before else DURING_SECONDS)
    assert calm.admin_failures == 0
    assert watch.admin_failures == 0
    # Each connection, and each answer a slow reader has not read: at most the write high-water
    # mark and one upstream read beyond it (bench/hostile/REPORT.md).
    per_connection = PER_CONNECTION_BOUND_KIB + answer_kib
    bound = idle_rss + per_connection * max(peak_connections, ATTACKERS)
    assert peak_rss < bound
    return proxy, watch, figures


def _ramped(proxy: Proxy) -> dict[str, float]:
    """Wait, bounded by RAMP_SECONDS, until the attack holds what it will: every connection, or
    a count that has stopped growing. The client's window must not overlap the ramp: at up to
    1,000 new connections a second the proxy's accept queue overflows, and a client connection
    opened then waits a second for its SYN to be sent again (TCPSynRetrans), which is the ramp's
    cost, not what held connections cost."""
    began = time.monotonic()
    deadline = began + RAMP_SECONDS
    best, since = 0.0, began
    held = 0.0
    while time.monotonic() < deadline:
        held = proxy.metric("meshproxy_downstream_connections")
        if held >= ATTACKERS:
            break
        if held > best + max(ATTACKERS // 200, 1):
            best, since = held, time.monotonic()
        elif held >= ATTACKERS / 2 and time.monotonic() - since >= RAMP_SETTLE_SECONDS:
            break
        time.sleep(0.5)
    return {"held": held, "seconds": round(time.monotonic() - began, 1)}


def test_slowloris_headers_are_cut_at_the_header_timeout(
    tmp_path: Path, gateways: Gateways, backends: Backends
) -> None:
    limits = f"{{{CAPS}, headerTimeout: {HOLD}s}}"
    proxy, _, _ = _under_attack(
        "slowloris", tmp_path, gateways(limits), "header_timeout", "-H",
        "-r", "1000", "-i", "5", "-x", "24", "-l", str(ATTACK_SECONDS),
        backends=backends,
    )  # fmt: skip
    wait_until(lambda: _logged(proxy, "header_timeout"), 10, "the access log line")
    # No attacking head was ever complete: the backend saw the client's requests and, on
    # `/api/attack`, only slowhttptest's own probe (one ordinary request every few seconds).
    assert backends.counts["/api/ok"] == RATE * (BEFORE_SECONDS + DURING_SECONDS)
    assert backends.counts.get("/api/attack", 0) < 50


def _logged(proxy: Proxy, limit: str) -> bool:
    return f'"limit":"{limit}"' in (proxy.tmp / "proxy.log").read_text(errors="replace")


def test_slow_bodies_are_held_off_the_upstream_and_cut_at_the_request_timeout(
    tmp_path: Path, gateways: Gateways, backends: Backends
) -> None:
    limits = f"{{{CAPS}, requestTimeout: {HOLD}s}}"
    proxy, _, _ = _under_attack(
        "slow-body", tmp_path, gateways(limits), "request_timeout", "-B",
        "-r", "1000", "-i", "5", "-s", "8192", "-x", "10", "-l", str(ATTACK_SECONDS),
        backends=backends,
    )  # fmt: skip
    wait_until(lambda: _logged(proxy, "request_timeout"), 10, "the access log line")
    # A body still arriving is read whole before an upstream is picked: no attacking body
    # reached the backend, only the probe's and the client's requests.
    assert backends.counts["/api/ok"] == RATE * (BEFORE_SECONDS + DURING_SECONDS)
    assert backends.counts.get("/api/attack", 0) < 50


# A well-behaved client of the `files` cluster while the slow readers hold their answers.
BIG_RATE = 5
BIG_SECONDS = 10


def test_slow_readers_are_cut_at_the_send_timeout_and_never_hold_the_upstream_pool(
    tmp_path: Path, gateways: Gateways, backends: Backends
) -> None:
    # Each slow reader's answer (256 KiB) fits the listener's response buffer (the default,
    # 256 KiB past the 64 KiB mark): it is read whole and its upstream connection goes back to
    # the pool at once. What they hold counts against the memory ceiling, set here (as the
    # chart's proxy settings would) so that every attacker's answer fits its buffering share.
    ceiling = int((128 * 1024 + ATTACKERS * (64 + 256)) * 1024 / BUFFER_SHARE)
    limits = f"{{{CAPS}, sendTimeout: {HOLD}s}}"

    def big_client(proxy: Proxy, port: int) -> dict[str, object]:
        return {
            "big_during": paced(port, BIG_RATE, BIG_SECONDS, path="/big/ok", connections=2),
            "files_pool_overflows": proxy.metric("meshproxy_upstream_overflow_total"),
            "responses_buffered": proxy.metric("meshproxy_responses_buffered_total"),
            "response_buffer_full": proxy.metric("meshproxy_response_buffer_full_total"),
            "response_buffer_bytes": proxy.metric("meshproxy_response_buffer_bytes"),
        }

    with send_buffers_at_most(64 * 1024):
        gateway = gateways(limits, {"memoryCeilingBytes": ceiling})
        proxy, _, figures = _under_attack(
            "slow-read", tmp_path, gateway, "send_timeout", "-X",
            "-r", "1000", "-w", "512", "-y", "1024", "-n", "5", "-z", "32", "-k", "3",
            "-l", str(ATTACK_SECONDS), backends=backends, answer_kib=64 + 256,
            meanwhile=big_client,
        )  # fmt: skip
    wait_until(lambda: _logged(proxy, "send_timeout"), 10, "the access log line")
    # The slow readers never held the files cluster's pool: a client of it was served whole
    # during the attack, nothing was refused for want of a connection, and answers were
    # buffered (counted, and flagged in the access log).
    big = figures["big_during"]
    assert isinstance(big, dict)
    assert big["ok"] == BIG_RATE * BIG_SECONDS, big
    assert big["failed"] == 0, big
    assert big["shed"] == 0, big
    assert figures["files_pool_overflows"] == 0
    assert figures["response_buffer_full"] == 0
    assert float(figures["responses_buffered"]) > 0  # type: ignore[arg-type]
    wait_until(lambda: _logged_flag(proxy, "buffered"), 10, "a buffered answer's log line")


def _logged_flag(proxy: Proxy, flag: str) -> bool:
    return f'"flags":"{flag}' in (proxy.tmp / "proxy.log").read_text(errors="replace")


def test_one_address_holds_at_most_the_per_client_cap_and_others_still_get_in(
    tmp_path: Path, gateways: Gateways, backends: Backends
) -> None:
    # The default per-client cap (1024 at the edge); idle connections kept past the test.
    proxy, port = gateways("{headerTimeout: 120s}")
    held: list[socket.socket] = []
    try:
        for _ in range(1100):
            held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        wait_until(lambda: proxy.metric(HITS, limit="max_connections_per_client") >= 76, 20)
        closed = 0
        for sock in held:
            sock.settimeout(0.01)
            try:
                closed += sock.recv(1) == b""
            except TimeoutError:
                pass
            except ConnectionResetError:
                closed += 1
        assert closed == 76
        assert proxy.metric(HITS, limit="max_connections_per_client") == 76
        assert proxy.metric("meshproxy_downstream_connections") == 1024
        other = paced(port, 50, 2)  # from 127.0.0.2
        assert other["ok"] == 100
        assert other["failed"] == 0
    finally:
        for sock in held:
            sock.close()
    wait_until(lambda: _logged(proxy, "max_connections_per_client"), 10, "the access log line")
