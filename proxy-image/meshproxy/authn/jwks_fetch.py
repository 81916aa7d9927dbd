"""Fetch a provider's JWKS from its `jwksUri`, and keep it fresh in the background.

`fetch_jwks(uri)` is one bounded HTTP/1.1 GET (https with the system trust store and hostname
check, or plain http for in-cluster providers): the whole exchange has a deadline, the body a
size cap (`MAX_JWKS_BYTES`), redirects are not followed (the configured URI is the one that was
trusted), and anything but a 200 with a parseable key set is a `JwksFetchError`.

`JwksRefresher` runs one task per remote provider: it fetches when `JwksCache` says a fetch is
due (start, every `jwksCacheSeconds`, back-off after failures, an unknown kid at most once per
interval) and otherwise sleeps. Requests only read `keys()`: they never wait for a fetch.

This module must never log key material or response bodies, and never let a request wait on
the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from meshproxy.policy.jwks import MAX_JWKS_BYTES, JwksCache, JwksError, JwkSet, parse_jwks

__all__ = ["JwksFetchError", "JwksRefresher", "fetch_jwks"]

_MAX_HEAD = 16 * 1024


class JwksFetchError(Exception):
    """The key set could not be fetched or used; the message is safe to log."""


async def fetch_jwks(
    uri: str,
    *,
    deadline: float = 5.0,
    max_bytes: int = MAX_JWKS_BYTES,
    ssl_context: ssl.SSLContext | None = None,
) -> JwkSet:
    """GET `uri` and parse it as a JWKS, all within `deadline` seconds."""
    try:
        async with asyncio.timeout(deadline):
            body = await _get(uri, max_bytes, ssl_context)
    except TimeoutError:
        raise JwksFetchError(f"no answer within {deadline:g} s") from None
    except OSError as exc:
        raise JwksFetchError(f"connection failed: {exc.strerror or type(exc).__name__}") from None
    try:
        return parse_jwks(body)
    except JwksError as exc:
        raise JwksFetchError(f"bad key set: {exc}") from None


async def _get(uri: str, max_bytes: int, ssl_context: ssl.SSLContext | None) -> bytes:
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        raise JwksFetchError("jwksUri is malformed") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise JwksFetchError("jwksUri must be an http(s) URL")
    if parts.username or parts.password:
        raise JwksFetchError("jwksUri must not carry credentials")
    tls = parts.scheme == "https"
    context = (ssl_context or ssl.create_default_context()) if tls else None
    host = parts.hostname
    port = port or (443 if tls else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = host if ":" not in host else f"[{host}]"
    if parts.port:
        host_header += f":{parts.port}"
    reader, writer = await asyncio.open_connection(
        host, port, ssl=context, server_hostname=host if tls else None, limit=_MAX_HEAD
    )
    try:
        writer.write(
            (
                f"GET {target} HTTP/1.1\r\nHost: {host_header}\r\n"
                "Accept: application/json, application/jwk-set+json\r\n"
                "User-Agent: meshproxy\r\nConnection: close\r\n\r\n"
            ).encode("ascii", "strict")
        )
        await writer.drain()
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.LimitOverrunError, asyncio.IncompleteReadError):
            raise JwksFetchError("response head is malformed or too large") from None
        status, headers = _parse_head(head)
        if status != 200:
            raise JwksFetchError(f"HTTP status {status}")
        return await _read_body(reader, headers, max_bytes)
    except UnicodeEncodeError:
        raise JwksFetchError("jwksUri must be ASCII") from None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/1."):
        raise JwksFetchError("response is not HTTP/1.x")
    try:
        status = int(status_line[1])
    except ValueError:
        raise JwksFetchError("response status is malformed") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise JwksFetchError("response header is malformed")
        key = name.strip().lower()
        if key in headers and key in ("content-length", "transfer-encoding"):
            raise JwksFetchError("response framing headers repeat")
        headers[key] = value.strip()
    return status, headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str], limit: int) -> bytes:
    too_large = JwksFetchError(f"key set is larger than {limit} bytes")
    encoding = headers.get("transfer-encoding", "").lower()
    if encoding:
        if encoding != "chunked":
            raise JwksFetchError("unsupported transfer encoding")
        body = bytearray()
        while True:
            try:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except (ValueError, asyncio.LimitOverrunError, asyncio.IncompleteReadError):
                raise JwksFetchError("chunked body is malformed") from None
            if size == 0:
                return bytes(body)
            if size < 0 or len(body) + size > limit:
                raise too_large
            try:
                body += (await reader.readexactly(size + 2))[:-2]
            except asyncio.IncompleteReadError:
                raise JwksFetchError("response ended early") from None
    length_text = headers.get("content-length")
    if length_text is not None:
        if not length_text.isdigit():
            raise JwksFetchError("content-length is malformed")
        length = int(length_text)
        if length > limit:
            raise too_large
        try:
            return await reader.readexactly(length)
        except asyncio.IncompleteReadError:
            raise JwksFetchError("response ended early") from None
    data = await reader.read(limit + 1)  # no framing: the body ends with the connection
    while len(data) <= limit:
        more = await reader.read(limit + 1 - len(data))
        if not more:
            return data
        data += more
    raise too_large


Fetch = Callable[[str], Awaitable[JwkSet]]


class JwksRefresher:
    """Keeps one provider's remote key set fresh. `start()` inside the running loop, `keys()`
    from requests, `unknown_kid()` when a token names a kid the set lacks, `stop()` on reload.

    `clock` is wall-clock seconds (the schedule must survive a suspended host the same way the
    tokens' `exp` does)."""

    def __init__(
        self,
        uri: str,
        cache_seconds: float = 300,
        *,
        min_refetch_seconds: float = 30,
        fetch: Fetch | None = None,
        clock: Callable[[], float] = time.time,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.uri = uri
        self._clock = clock
        self._fetch: Fetch = fetch or fetch_jwks
        self._on_error = on_error
        self.cache = JwksCache(cache_seconds, min_refetch_seconds, now=clock())
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.fetches = 0

    def keys(self) -> JwkSet | None:
        return self.cache.keys

    def unknown_kid(self) -> None:
        if self.cache.unknown_kid(self._clock()):
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_ready(self, within: float) -> bool:
        """At start-up: wait up to `within` seconds for a first key set."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), within)
        return self.cache.keys is not None

    async def _run(self) -> None:
        while True:
            now = self._clock()
            if self.cache.due(now):
                self.fetches += 1
                try:
                    keys = await self._fetch(self.uri)
                except JwksFetchError as exc:
                    self.cache.failed(str(exc), self._clock())
                    if self._on_error is not None:
                        self._on_error(str(exc))
                else:
                    self.cache.fetched(keys, self._clock())
                    self._ready.set()
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.cache.wait(now))
