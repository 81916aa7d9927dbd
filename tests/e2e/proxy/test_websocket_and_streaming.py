"""Upgrade tunnels and streamed bodies through the real proxy."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from meshproxy_e2e import Backends, Behaviour, cluster, config, forward, running

pytestmark = pytest.mark.e2e


def test_websocket_upgrade_is_tunnelled_and_echoes(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    a = backends.start(Behaviour("ws"))
    cfg = config(port, [forward("r", "a")], [cluster("a", a)])
    with running(tmp_path, cfg), socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"GET /chat HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\n"
            b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 101 ")
        assert b"upgrade: websocket" in head.lower()
        for message in (b"\x81\x05hello", b"\x81\x05world" * 100):
            sock.sendall(message)
            echoed = b""
            while len(echoed) < len(message):
                echoed += sock.recv(65536)
            assert echoed == message


def _rss_after_upload(proxy_port: int, size: int, chunk: int = 256 * 1024) -> None:
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=30) as sock:
        sock.sendall(
            b"POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: %d\r\n\r\n" % size
        )
        block = b"z" * chunk
        sent = 0
        while sent < size:
            n = min(chunk, size - sent)
            sock.sendall(block[:n])
            sent += n
        reply = b""
        while b"}" not in reply:
            data = sock.recv(65536)
            if not data:
                break
            reply += data
        assert reply.startswith(b"HTTP/1.1 200 "), reply[:200]
        assert b'"received": %d' % size in reply


def test_hundred_mebibyte_upload_streams_with_rss_growth_under_twenty_mebibytes(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    a = backends.start(Behaviour("sink"))
    cfg = config(port, [forward("r", "a")], [cluster("a", a)])
    cfg["limits"] = {"maxRequestBodyBytes": 200 * 1024 * 1024}
    with running(tmp_path, cfg) as proxy:
        _rss_after_upload(port, 1024 * 1024)  # warm up: pools, code paths
        before = proxy.rss_kib()
        start = time.monotonic()
        _rss_after_upload(port, 100 * 1024 * 1024)
        growth_mib = (proxy.rss_kib() - before) / 1024
        assert growth_mib < 20, f"RSS grew {growth_mib:.1f} MiB"
        assert time.monotonic() - start < 60


def test_chunked_request_body_is_streamed_upstream_whole(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    behaviour = Behaviour("sink")
    a = backends.start(behaviour)
    with running(tmp_path, config(port, [forward("r", "a")], [cluster("a", a)])) as proxy:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /c HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            for _ in range(50):
                sock.sendall(b"400\r\n" + b"q" * 1024 + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
            reply = b""
            while b"}" not in reply:
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    raise AssertionError((reply, behaviour.seen, proxy.output())) from None
                assert data, (reply, proxy.output())
                reply += data
        assert b'"received": 51200' in reply
