"""Raw HTTP/2 frames against a running meshproxy, and the bounds an attack must stay within.

Frames are built with hyperframe/hpack, the layers under the `h2` library, so a test can send what
a well-behaved client library never would.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from hpack import Encoder
from hyperframe.frame import Frame, GoAwayFrame, HeadersFrame, SettingsFrame
from meshproxy_e2e import Proxy

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
ENHANCE_YOUR_CALM = 0xB
RSS_GROWTH_KIB = 30 * 1024  # what a bounded attack may cost: far below what it asks for
CPU_SECONDS = 10.0


class RawH2:
    """A socket speaking HTTP/2 frames, without the checks of a client library."""

    def __init__(
        self, port: int, settings: dict[int, int] | None = None, receive_buffer: int = 0
    ) -> None:
        self.sock = socket.socket()
        if receive_buffer:  # set before connecting, so the window the kernel offers stays small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
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


def still_serves(port: int) -> None:
    """A new connection is answered: the attack left the proxy serving."""
    client = RawH2(port)
    try:
        client.send(client.headers(1, client.request_block("/after")))
        for frame in client.frames(10):
            if isinstance(frame, HeadersFrame) and frame.stream_id == 1:
                return
        raise AssertionError("the proxy did not answer a new connection after the attack")
    finally:
        client.close()
