"""The admin and stats ports: `/live`, `/ready`, `/metrics` (Prometheus text), `/config` (redacted).

Two servers of this one class. The admin port answers every endpoint and listens on loopback by
default, as Envoy's admin does: `/config` shows what the proxy runs, and nothing off the Pod should
read it (the CLI reaches it through the API server). The stats port, Istio's 15090, answers only
`/live`, `/ready` and `/metrics`, on the Pod's address, for the kubelet's probes and Prometheus.

Not on the request path, so plain asyncio streams and one request per connection are enough.
`/config` never shows key material: API-key hashes are replaced and passwords are cut out of
Redis URLs (files are shown by path only, and the proxy never reads key files into config).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from meshproxy import config
from meshproxy.server.listen import bound_socket

REDACTED = "<redacted>"
_SECRET_KEYS = frozenset({"sha256"})
_URL_KEYS = frozenset({"redisUrl"})
# What the stats port answers; everything else there is 404, as if it did not exist.
STATS_PATHS = frozenset({"/live", "/ready", "/metrics"})


class AdminServer:
    def __init__(
        self,
        ready: Callable[[], tuple[bool, str]],
        metrics: Callable[[], str],
        active_config: Callable[[], config.ProxyConfig | None],
        *,
        stats_only: bool = False,
    ) -> None:
        self._stats_only = stats_only
        self._ready = ready
        self._metrics = metrics
        self._config = active_config
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        sock = bound_socket(host, port)  # no `idna` import for a numeric address (`listen`)
        if sock is None:
            self._server = await asyncio.start_server(self._serve, host, port)
        else:
            self._server = await asyncio.start_server(self._serve, sock=sock)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            line = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            path = line[1].split("?", 1)[0] if len(line) == 3 else ""
            status, ctype, body = self.answer(line[0] if line else "", path)
            writer.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%s"
                % (status, b"OK" if status == 200 else b"Error", ctype.encode(), len(body), body)
            )
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            writer.close()

    def answer(self, method: str, path: str) -> tuple[int, str, bytes]:
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"method not allowed\n"
        if self._stats_only and path not in STATS_PATHS:
            return 404, "text/plain", b"not found (the admin port serves it, on loopback)\n"
        if path == "/live":
            return 200, "text/plain", b"live\n"
        if path == "/ready":
            ready, why = self._ready()
            return (200 if ready else 503), "text/plain", (why + "\n").encode()
        if path == "/metrics":
            return 200, "text/plain; version=0.0.4", self._metrics().encode()
        if path == "/config":
            active = self._config()
            if active is None:
                return 503, "text/plain", b"no config loaded\n"
            data = redact(config.to_data(active))
            return 200, "application/json", json.dumps(data, indent=2, sort_keys=True).encode()
        return 404, "text/plain", b"not found\n"


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in _SECRET_KEYS and item is not None:
                out[key] = REDACTED
            elif key in _URL_KEYS and isinstance(item, str):
                out[key] = _without_password(item)
            else:
                out[key] = redact(item)
        return out
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{REDACTED}@{host}", parts.path, parts.query, ""))
