"""A real redis-server on a free loopback port, started and stopped by PID by the tests.

``redis_server`` (function) is a ``RedisServer``: ``url`` (with the password it requires),
``stop()`` and ``start()`` again on the same port, so tests can take Redis away and bring it
back. The binary is the Debian package's ``/usr/bin/redis-server`` (``$MESHGATE_REDIS_SERVER``
overrides); without it the tests fail under CI and are skipped elsewhere, saying so.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PASSWORD = "test-only-password"


def _binary() -> str:
    found = os.environ.get("MESHGATE_REDIS_SERVER") or shutil.which("redis-server")
    if found:
        return found
    reason = "redis-server is not installed (apt-get install -y redis-server)"
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.proc is None
        log = (self.workdir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
                "--requirepass", PASSWORD,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"AUTH " + PASSWORD.encode() + b"\r\nPING\r\n")
                    seen = b""
                    while b"PONG" not in seen and (chunk := sock.recv(64)):
                        seen += chunk
                    if b"PONG" in seen:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not answer within 10 s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(_binary(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
