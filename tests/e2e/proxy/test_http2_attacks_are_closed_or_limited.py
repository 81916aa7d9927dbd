"""The known HTTP/2 attacks against a running meshproxy: each is closed or limited, and the
proxy's memory and CPU stay bounded while it happens.

Each test speaks raw HTTP/2 frames (hyperframe/hpack, the layers under the `h2` library), so it
can send what a well-behaved client library never would: rapid resets (CVE-2023-44487),
CONTINUATION floods (CVE-2024-27316 class), SETTINGS and PING floods, a header block that
decodes into a huge list (HPACK bomb), a zero send window held forever, and more streams than
the proxy announced.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hpack import Encoder
from hyperframe.frame import (
    ContinuationFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    RstStreamFrame,
    SettingsFrame,
)
from meshproxy_e2e import Backends, Behaviour, Proxy, cluster, config, forward, running

pytestmark = pytest.mark.e2e

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
ENHANCE_YOUR_CALM = 0xB
RSS_GROWTH_KIB = 30 * 1024  # what a bounded attack may cost: far below what it asks for
CPU_SECONDS = 10.0


class RawH2:
    """A socket speaking HTTP/2 frames, without the checks of a client library."""

    def __init__(self, port: int, settings: dict[int, int] | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.encoder = Encoder()
        self.buffer = b""
        frame = SettingsFrame(0)
        frame.settings = settings or {}
        self.sock.sendall(PREFACE + frame.serialize())

    def request_block(self, path: str = "/", extra: list[tuple[str, str]] | None = None) -> bytes:
        headers = [(":method", "GET"), (":scheme", "http"), (":path", path), (":authority", "a")]
        return bytes(self.encoder.encode(headers + (extra or [])))

    def headers(self, stream_id: int, block: bytes, end_stream: bool = True) -> bytes:
        frame = HeadersFrame(stream_id, block)
        frame.flags.add("END_HEADERS")
        if end_stream:
            frame.flags.add("END_STREAM")
        return bytes(frame.serialize())

    def send(self, data: bytes) -> bool:
        """False once the proxy has closed the connection."""
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            return False
        return True

    def frames(self, timeout: float = 10) -> Iterator[Frame]:
        """Frames from the proxy until it closes the connection or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while len(self.buffer) >= 9:
                length = int.from_bytes(self.buffer[:3], "big")
                if len(self.buffer) < 9 + length:
                    break
                frame, _ = Frame.parse_frame_header(memoryview(self.buffer[:9]))
                frame.parse_body(memoryview(self.buffer[9 : 9 + length]))
                self.buffer = self.buffer[9 + length :]
                yield frame
            try:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                data = self.sock.recv(65536)
            except TimeoutError:
                return
            except ConnectionResetError:
                return
            if not data:
                return
            self.buffer += data

    def goaway(self, timeout: float = 10) -> GoAwayFrame | None:
        for frame in self.frames(timeout):
            if isinstance(frame, GoAwayFrame):
                return frame
        return None

    def closed(self, timeout: float = 10) -> bool:
        for _ in self.frames(timeout):
            pass
        try:
            self.sock.settimeout(0.5)
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bounded:
    """RSS and CPU of the proxy across an attack."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.rss = proxy.rss_kib()
        self.cpu = _cpu_seconds(proxy.process.pid)

    def check(self) -> None:
        grew = self.proxy.rss_kib() - self.rss
        spent = _cpu_seconds(self.proxy.process.pid) - self.cpu
        assert grew < RSS_GROWTH_KIB, f"RSS grew {grew} KiB"
        assert spent < CPU_SECONDS, f"CPU {spent:.1f} s"


def _config(port: int, backend: int, **http2: Any) -> dict[str, Any]:
    limits = {"headerTimeout": 5, "http2": http2} if http2 else {"headerTimeout": 5}
    return config(port, [forward("r", "b")], [cluster("b", backend)], limits=limits)


def _still_serves(port: int) -> None:
    client = RawH2(port)
    try:
        client.send(client.headers(1, client.request_block("/after")))
        for frame in client.frames(10):
            if isinstance(frame, HeadersFrame) and frame.stream_id == 1:
                return
        raise AssertionError("the proxy did not answer a new connection after the attack")
    finally:
        client.close()


def test_rapid_reset_gets_goaway_enhance_your_calm(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    backend = backends.start(Behaviour("b", record=False))
    with running(tmp_path, _config(port, backend, maxResetsPerSecond=100)) as proxy:
        bounded = Bounded(proxy)
        client = RawH2(port)
        burst = b"".join(
            client.headers(sid, client.request_block())
            + bytes(RstStreamFrame(sid, error_code=8).serialize())  # CANCEL
            for sid in range(1, 2 * 5000, 2)
        )
        client.send(burst)
        goaway = client.goaway()
        assert goaway is not None
        assert goaway.error_code == ENHANCE_YOUR_CALM
        assert client.closed()
        client.close()
        bounded.check()
        _still_serves(port)


def test_continuation_flood_is_refused_with_goaway(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    backend = backends.start(Behaviour("b", record=False))
    with running(tmp_path, _config(port, backend)) as proxy:
        bounded = Bounded(proxy)
        client = RawH2(port)
        first = HeadersFrame(1, client.request_block())  # no END_HEADERS: more blocks follow
        junk = bytes(ContinuationFrame(1, b"\x40\x01a\x01b" * 3000).serialize())  # 15 KB each
        # 300 CONTINUATION frames, 4.5 MB of one header block, if the proxy took them all.
        client.send(bytes(first.serialize()) + junk * 300)
        goaway = client.goaway()
        assert goaway is not None
        assert goaway.error_code != 0
        assert client.closed()
        client.close()
        bounded.check()
        _still_serves(port)


@pytest.mark.parametrize("kind", ["ping", "settings"])
def test_ping_and_settings_floods_get_goaway_enhance_your_calm(
    tmp_path: Path, backends: Backends, port: int, kind: str
) -> None:
    backend = backends.start(Behaviour("b", record=False))
    cfg = _config(port, backend, maxPingsPerSecond=50, maxSettingsPerSecond=50)
    with running(tmp_path, cfg) as proxy:
        bounded = Bounded(proxy)
        client = RawH2(port)
        frame: Frame = PingFrame(0, b"12345678") if kind == "ping" else SettingsFrame(0)
        client.send(bytes(frame.serialize()) * 10_000)
        goaway = client.goaway()
        assert goaway is not None
        assert goaway.error_code == ENHANCE_YOUR_CALM
        assert client.closed()
        client.close()
        bounded.check()
        _still_serves(port)


def test_hpack_bomb_is_refused_before_the_list_is_built(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    behaviour = Behaviour("b")
    backend = backends.start(behaviour)
    with running(tmp_path, _config(port, backend)) as proxy:
        bounded = Bounded(proxy)
        client = RawH2(port)
        # One 4 KB value enters the dynamic table once; each later copy is a one-byte index.
        # 20,000 copies decode to 80 MB from a block of about 24 KB.
        block = client.request_block(extra=[("x-bomb", "a" * 4000)] * 20_000)
        assert len(block) < 64 * 1024
        client.send(client.headers(1, block))
        goaway = client.goaway()
        assert goaway is not None
        assert goaway.error_code != 0
        client.close()
        bounded.check()
        assert behaviour.seen == []  # the refused block never became a request
        _still_serves(port)


def test_a_zero_window_held_forever_is_reset_after_the_stall_timeout(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    backend = backends.start(Behaviour("b", record=False))
    with running(tmp_path, _config(port, backend, stallTimeout=1)) as proxy:
        bounded = Bounded(proxy)
        # INITIAL_WINDOW_SIZE 0: the proxy may send the response head but no byte of its body.
        client = RawH2(port, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 0})
        start = time.monotonic()
        client.send(client.headers(1, client.request_block("/stall")))
        reset = None
        for frame in client.frames(15):
            if isinstance(frame, RstStreamFrame) and frame.stream_id == 1:
                reset = frame
                break
        assert reset is not None, "the stalled stream was never reset"
        assert time.monotonic() - start >= 1
        client.close()
        bounded.check()
        _still_serves(port)


def test_streams_beyond_the_announced_limit_end_the_connection(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    backend = backends.start(Behaviour("b", delay=3.0, record=False))
    with running(tmp_path, _config(port, backend, maxConcurrentStreams=10)) as proxy:
        bounded = Bounded(proxy)
        client = RawH2(port)
        settings = next(f for f in client.frames(5) if isinstance(f, SettingsFrame))
        assert settings.settings[SettingsFrame.MAX_CONCURRENT_STREAMS] == 10
        # Ten streams wait on a slow backend; the eleventh is one too many.
        client.send(
            b"".join(client.headers(sid, client.request_block()) for sid in range(1, 23, 2))
        )
        goaway = client.goaway()
        assert goaway is not None
        assert goaway.error_code != 0
        client.close()
        bounded.check()
        _still_serves(port)
