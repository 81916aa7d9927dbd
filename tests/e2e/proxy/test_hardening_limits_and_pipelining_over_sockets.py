"""Limits of the real proxy over sockets: the default 64 KiB header block, and 10,000 pipelined
requests in one write, which the proxy takes in only as fast as the client reads the answers."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from meshproxy_e2e import Backends, Behaviour, cluster, config, forward, raw_exchange, running

pytestmark = pytest.mark.e2e

KIB = 1024


def _get_with_header(size: int) -> bytes:
    return b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * size + b"\r\nConnection: close\r\n\r\n"


def test_default_header_limit_serves_under_64_kib_and_answers_431_above(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    behaviour = Behaviour("a")
    a = backends.start(behaviour)
    with running(tmp_path, config(port, [forward("r", "a")], [cluster("a", a)])) as proxy:
        assert raw_exchange(port, _get_with_header(60 * KIB)).startswith(b"HTTP/1.1 200 ")
        assert raw_exchange(port, _get_with_header(65 * KIB)).startswith(b"HTTP/1.1 431 ")
        assert len(behaviour.seen) == 1
        assert proxy.metric("meshproxy_rejected_requests_total") == 1


def _settled(value: Callable[[], float], quiet: float = 0.5, timeout: float = 15) -> float:
    """Wait until `value()` stops changing for `quiet` seconds; return it."""
    deadline = time.monotonic() + timeout
    last, since = value(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = value()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise AssertionError(f"still changing after {timeout} s: {last}")


def _read_answers(sock: socket.socket, total: int, marker: bytes) -> bytes:
    sock.settimeout(20)
    received = bytearray()
    deadline = time.monotonic() + 60
    while received.count(marker) < total and time.monotonic() < deadline:
        chunk = sock.recv(256 * KIB)
        assert chunk, "the proxy closed the connection"
        received += chunk
    return bytes(received)


TOTAL = 10_000
BURST = b"".join(b"GET /%d HTTP/1.1\r\nHost: a\r\n\r\n" % i for i in range(TOTAL))


def test_ten_thousand_pipelined_requests_in_one_write_are_answered_in_order(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    a = backends.start(Behaviour("a", record=False))
    cfg = config(port, [forward("r", "a")], [cluster("a", a)])
    cfg["observability"] = {"accessLog": {"enabled": False}}
    with running(tmp_path, cfg) as proxy, socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /warm HTTP/1.1\r\nHost: a\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        before = proxy.rss_kib()
        sender = threading.Thread(target=sock.sendall, args=(BURST,), daemon=True)
        sender.start()
        received = _read_answers(sock, TOTAL, b"HTTP/1.1 200 ")
        sender.join(10)
        paths = re.findall(rb'"path": "/(\d+)"', received)
        assert [int(p) for p in paths] == list(range(TOTAL))
        assert proxy.rss_kib() - before < 10 * KIB, (before, proxy.rss_kib())


def test_pipelined_requests_are_taken_in_only_as_fast_as_the_client_reads_answers(
    tmp_path: Path, port: int
) -> None:
    # 2 KiB answers: 20 MB in all, more than the kernel's socket buffers can hold for the proxy.
    route = {"name": "local", "directResponse": {"status": 200, "body": "x" * 2048}}
    cfg = config(port, [route], [])
    cfg["observability"] = {"accessLog": {"enabled": False}}
    with running(tmp_path, cfg) as proxy, socket.create_connection(("127.0.0.1", port)) as sock:
        answered = lambda: proxy.metric("meshproxy_requests_total")  # noqa: E731
        sock.sendall(b"GET /warm HTTP/1.1\r\nHost: a\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        before = proxy.rss_kib()
        sender = threading.Thread(target=sock.sendall, args=(BURST,), daemon=True)
        sender.start()  # one write; it blocks once the proxy stops reading

        stalled = _settled(answered)  # nobody reads: the proxy must stop, not queue them all
        assert stalled < TOTAL // 2, stalled
        assert proxy.rss_kib() - before < 10 * KIB, (before, proxy.rss_kib())

        received = _read_answers(sock, TOTAL, b"HTTP/1.1 200 ")
        sender.join(10)
        assert received.count(b"HTTP/1.1 200 ") == TOTAL
        assert answered() == TOTAL + 1
        assert proxy.rss_kib() - before < 10 * KIB, (before, proxy.rss_kib())
