"""Helpers for end-to-end proxy tests: backends in a thread, the real meshproxy process, clients.

Everything listens on 127.0.0.1 on free ports; every wait is a bounded poll on a condition.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httptools

ROOT = Path(__file__).resolve().parents[3]
MESHPROXY = str(ROOT / ".venv" / "bin" / "meshproxy")


# Ports handed out but perhaps not bound yet: a test picks a listener port, then starts a process
# whose admin port is picked later; the kernel may offer the first port again in between.
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port nobody holds now and that this process has not handed out before."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def wait_until(condition: Callable[[], bool], timeout: float = 10, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what or condition}")


# --- backends ---------------------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body_len: int


@dataclass
class Behaviour:
    name: str
    fail_ratio: float = 0.0  # answer 503 to this share of requests
    status: int = 200
    delay: float = 0.0
    seen: list[Seen] = field(default_factory=list)
    record: bool = True


class _BackendProtocol(asyncio.Protocol):
    def __init__(self, behaviour: Behaviour) -> None:
        self.b = behaviour
        self.parser = httptools.HttpRequestParser(self)
        self.tunnel = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def data_received(self, data: bytes) -> None:
        if self.tunnel:
            self.transport.write(data)  # websocket-ish echo: raw bytes back
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self.tunnel = True
            self.transport.write(
                b"HTTP/1.1 101 Switching Protocols\r\n"
                b"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            )
            rest = data[exc.args[0] :]
            if rest:
                self.transport.write(rest)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers: dict[str, str] = {}
        self.body_len = 0
        self.digest = 0

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body_len += len(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method().decode()
        path = self.url.decode("latin-1")
        if self.b.record:
            self.b.seen.append(Seen(method, path, self.headers, self.body_len))
        if self.headers.get("upgrade"):
            return
        status = self.b.status
        if self.b.fail_ratio and random.random() < self.b.fail_ratio:
            status = 503
        body = json.dumps(
            {"backend": self.b.name, "path": path, "received": self.body_len}
        ).encode()
        head = b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (
            status,
            len(body),
        )
        if self.b.delay:
            asyncio.get_running_loop().call_later(self.b.delay, self._write, head + body)
        else:
            self._write(head + body)

    def _write(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(data)


class Backends:
    """HTTP backends on one event loop in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers: dict[int, asyncio.AbstractServer] = {}

    def start(self, behaviour: Behaviour, port: int | None = None) -> int:
        port = port or free_port()

        async def serve() -> asyncio.AbstractServer:
            return await self.loop.create_server(
                lambda: _BackendProtocol(behaviour), "127.0.0.1", port, reuse_address=True
            )

        self.servers[port] = asyncio.run_coroutine_threadsafe(serve(), self.loop).result(10)
        return port

    def stop(self, port: int) -> None:
        server = self.servers.pop(port)

        async def close() -> None:
            server.close()
            with contextlib.suppress(Exception):
                server.close_clients()  # type: ignore[attr-defined]

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)

    def close(self) -> None:
        for port in list(self.servers):
            self.stop(port)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


# --- the proxy process --------------------------------------------------------------------------


def start_meshproxy(
    config_path: Path,
    admin_port: int,
    log: IO[bytes],
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """A real meshproxy process, its admin server on 127.0.0.1:`admin_port`, output to `log`."""
    return subprocess.Popen(
        [
            MESHPROXY,
            "--config",
            str(config_path),
            "--admin-port",
            str(admin_port),
            "--admin-address",
            "127.0.0.1",
            *args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )


def stop_meshproxy(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM and up to 30s to drain, then SIGKILL; a process that already exited is left alone."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)


class Proxy:
    def __init__(self, tmp: Path, cfg: dict[str, Any], args: tuple[str, ...] = ()) -> None:
        self.config_path = tmp / "config.json"
        self.write_config(cfg)
        self.admin_port = free_port()
        self.log = open(tmp / "proxy.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = start_meshproxy(self.config_path, self.admin_port, self.log, args)
        self.tmp = tmp
        wait_until(self.ready, 15, "meshproxy /ready")

    def write_config(self, cfg: dict[str, Any]) -> None:
        """Replace the file the way a ConfigMap update does: a new inode, renamed into place."""
        tmp = self.config_path.with_suffix(f".{time.monotonic_ns()}")
        tmp.write_text(json.dumps(cfg))
        os.replace(tmp, self.config_path)

    def admin(self, path: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=5)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(
                f"meshproxy exited with {self.process.returncode}: {self.output()}"
            )
        try:
            return self.admin("/ready")[0] == 200
        except OSError:
            return False

    def metric(self, name: str, **labels: str) -> float:
        total = 0.0
        for line in self.admin("/metrics")[1].splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def output(self) -> str:
        self.log.flush()
        return (self.tmp / "proxy.log").read_text(errors="replace")[-4000:]

    def terminate(self) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
        return self.process.wait(30)

    def stop(self) -> None:
        stop_meshproxy(self.process)
        self.log.close()


def config(
    listener_port: int,
    routes: list[dict[str, Any]],
    clusters: list[dict[str, Any]],
    domains: tuple[str, ...] = ("*",),
    **extra: Any,
) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "schema": "meshproxy/v1",
        "node": {"role": "gateway"},
        "listeners": [
            {
                "name": "web",
                "address": "127.0.0.1",
                "port": listener_port,
                "role": "edge",
                "virtualHosts": [{"name": "vh", "domains": list(domains), "routes": routes}],
            }
        ],
        "clusters": clusters,
        "observability": {"accessLog": {"enabled": True, "path": "-"}},
    }
    cfg.update(extra)
    return cfg


def cluster(name: str, *ports: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "endpoints": [{"address": "127.0.0.1", "port": p} for p in ports],
        **extra,
    }


def forward(name: str, *clusters: str | tuple[str, int], **extra: Any) -> dict[str, Any]:
    weighted = [
        {"cluster": c, "weight": 1} if isinstance(c, str) else {"cluster": c[0], "weight": c[1]}
        for c in clusters
    ]
    route: dict[str, Any] = {"name": name, "forward": {"clusters": weighted}}
    for key in ("timeout", "retry", "rewrite", "mirrors"):
        if key in extra:
            route["forward"][key] = extra.pop(key)
    route.update(extra)
    return route


class Client:
    """A keep-alive HTTP/1.1 client; reconnects when the proxy closes."""

    def __init__(self, port: int, host: str = "app.test") -> None:
        self.port = port
        self.host = host
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def request(
        self,
        method: str = "GET",
        path: str = "/",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        all_headers = {"Host": self.host, **(headers or {})}
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=all_headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.conn.close()
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                # A keep-alive connection the proxy closed while idle: a new one, once.
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


def raw_exchange(port: int, data: bytes, timeout: float = 5) -> bytes:
    """Send raw bytes, read until the proxy closes or `timeout`."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


@contextlib.contextmanager
def running(tmp: Path, cfg: dict[str, Any], args: tuple[str, ...] = ()) -> Iterator[Proxy]:
    proxy = Proxy(tmp, cfg, args)
    try:
        yield proxy
    finally:
        proxy.stop()
