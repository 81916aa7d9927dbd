"""Helpers for edge e2e tests: an echo backend, a redis-server, signed tokens, sustained load.

The meshproxy process, the config builders and the client come from the proxy suite's
`meshproxy_e2e`; this module adds only what edge tests need. Everything listens on 127.0.0.1
on free ports, every wait is a bounded poll, every process is stopped by its PID.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httptools
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "proxy"))

from meshproxy_e2e import Client, free_port, wait_until

REDIS_SERVER = "/usr/bin/redis-server"


# --- a backend that echoes every request header, repeats included ------------------------------


class _EchoProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_begin(self) -> None:
        self.headers: list[list[str]] = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append([name.decode("latin-1").lower(), value.decode("latin-1")])

    def on_message_complete(self) -> None:
        body = json.dumps({"headers": self.headers}).encode()
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body)
        )


class EchoBackend:
    """Answers every request with `{"headers": [[name, value], ...]}` as it received them."""

    def __init__(self) -> None:
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def serve() -> asyncio.AbstractServer:
            return await self.loop.create_server(_EchoProtocol, "127.0.0.1", self.port)

        self.server = asyncio.run_coroutine_threadsafe(serve(), self.loop).result(10)

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def echoed(body: bytes, name: str) -> list[str]:
    """Every value the backend saw for header `name`."""
    return [v for n, v in json.loads(body)["headers"] if n == name]


# --- redis-server ------------------------------------------------------------------------------


class RedisServer:
    """A throwaway redis-server on a free loopback port: no persistence, stopped by its PID."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.log = open(tmp / f"redis-{self.port}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(tmp),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until(self._answers, 10, "redis-server to answer PING")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"redis-server exited with {self.process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


# --- signed tokens -----------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64int(value: int) -> str:
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class Rs256Key:
    """An RS256 signing key (generated per test session) and its public JWK."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self._key = rsa.generate_private_key(65537, 2048)
        numbers = self._key.public_key().public_numbers()
        self.jwk = {"kty": "RSA", "kid": kid, "use": "sig", "n": _b64int(numbers.n),
                    "e": _b64int(numbers.e)}  # fmt: skip

    def token(self, claims: dict[str, Any], **header: Any) -> str:
        head = {"alg": "RS256", "typ": "JWT", "kid": self.kid, **header}
        signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64(signature)}"


def unsigned_token(claims: dict[str, Any]) -> str:
    head = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{head}.{b64(json.dumps(claims).encode())}."


# --- sustained load ----------------------------------------------------------------------------


@dataclass
class LoadResult:
    allowed: int
    refused: int
    other: int
    elapsed: float  # from the first request sent to the last one sent: the buckets' window


def hammer(ports: list[int], seconds: float, path: str = "/") -> LoadResult:
    """One keep-alive client per port, each sending requests back to back for `seconds`."""
    counts = {"allowed": 0, "refused": 0, "other": 0}
    sent: list[float] = []  # first and last send time of each client
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(port: int) -> None:
        client = Client(port)
        mine = {"allowed": 0, "refused": 0, "other": 0}
        first = last = time.monotonic()
        try:
            while (last := time.monotonic()) < deadline:
                status, _, _ = client.request("GET", path)
                key = "allowed" if status == 200 else "refused" if status == 429 else "other"
                mine[key] += 1
        finally:
            client.close()
            with lock:
                for key, value in mine.items():
                    counts[key] += value
                sent.extend((first, last))

    threads = [threading.Thread(target=run, args=(p,)) for p in ports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 30)
    elapsed = max(sent) - min(sent)
    return LoadResult(counts["allowed"], counts["refused"], counts["other"], elapsed)
