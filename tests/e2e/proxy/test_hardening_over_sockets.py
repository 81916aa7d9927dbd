"""Hostile bytes against the real proxy: refused, closed, never forwarded; timeouts close."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from meshproxy_e2e import (
    Backends,
    Behaviour,
    Client,
    cluster,
    config,
    forward,
    raw_exchange,
    running,
)

pytestmark = pytest.mark.e2e

SMUGGLING = [
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \xa0chunked\r\n\r\n0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    # An absolute-form target with userinfo (one naming another host than Host is routed by
    # its authority: test_sidecar_routes_an_absolute_form_request_by_its_authority_not_its_host).
    b"GET http://u@other/ HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
]


def test_smuggling_shapes_are_refused_and_nothing_reaches_the_backend(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    behaviour = Behaviour("a")
    a = backends.start(behaviour)
    with running(tmp_path, config(port, [forward("r", "a")], [cluster("a", a)])) as proxy:
        for raw in SMUGGLING:
            reply = raw_exchange(port, raw)
            assert reply.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 431 ")), (raw[:60], reply[:80])
        assert behaviour.seen == []
        assert proxy.metric("meshproxy_rejected_requests_total") == len(SMUGGLING)


def test_body_over_the_limit_is_413(tmp_path: Path, backends: Backends, port: int) -> None:
    a = backends.start(Behaviour("a"))
    cfg = config(port, [forward("r", "a")], [cluster("a", a)])
    cfg["limits"] = {"maxRequestBodyBytes": 1000}
    with running(tmp_path, cfg):
        status, _, _ = Client(port).request("POST", "/", body=b"x" * 1001)
        assert status == 413


def test_slow_headers_and_idle_keep_alive_are_closed(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    a = backends.start(Behaviour("a"))
    cfg = config(port, [forward("r", "a")], [cluster("a", a)])
    cfg["limits"] = {"headerTimeout": 0.3, "idleTimeout": 0.5}
    with running(tmp_path, cfg):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
            start = time.monotonic()
            assert sock.recv(100) == b""  # closed, nothing owed
            assert 0.2 < time.monotonic() - start < 2
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
            start = time.monotonic()
            assert sock.recv(100) == b""
            assert 0.4 < time.monotonic() - start < 2


_VALID = b"GET /p HTTP/1.1\r\nHost: a\r\nX-Marker: m\r\n\r\n"
_TOKENS = [
    b"\r\n",
    b"\n",
    b"\r",
    b"\x00",
    b" ",
    b":",
    b"\xa0",
    b"Content-Length: 5\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Host: b\r\n",
    b"0\r\n\r\n",
    b"GET ",
    b"/../",
]


@st.composite
def mutated_requests(draw: st.DrawFn) -> bytes:
    data = bytearray(_VALID)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        if draw(st.booleans()):
            data[at:at] = draw(st.sampled_from(_TOKENS))
        else:
            data[at : at + draw(st.integers(0, 3))] = draw(st.binary(max_size=3))
    return bytes(data)


def test_random_and_mutated_requests_never_crash_the_proxy_or_get_forwarded_when_refused(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    behaviour = Behaviour("a")
    a = backends.start(behaviour)
    with running(tmp_path, config(port, [forward("r", "a")], [cluster("a", a)])) as proxy:

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.one_of(mutated_requests(), st.binary(max_size=200)))
        def check(raw: bytes) -> None:
            before = len(behaviour.seen)
            reply = raw_exchange(port, raw, timeout=0.5)
            if reply.startswith(
                (b"HTTP/1.1 400 ", b"HTTP/1.1 431 ", b"HTTP/1.1 405 ", b"HTTP/1.1 413 ")
            ):
                # Refused: the backend got nothing from this connection.
                assert len(behaviour.seen) == before, raw
            assert proxy.process.poll() is None

        check()
        assert Client(port).request("GET", "/")[0] == 200
