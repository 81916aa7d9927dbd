"""Fetch a provider's JWKS from its `jwksUri`, and keep it fresh in the background.

`fetch_jwks(uri)` is one bounded HTTP/1.1 GET (https with the system trust store and hostname
check, or plain http for in-cluster providers) made with the proxy's own upstream client
(`upstream.pool.EndpointPool` and its httptools connection), so there is one HTTP client in the
proxy: the whole exchange has a deadline, the body a size cap (`MAX_JWKS_BYTES`), redirects are
not followed (the configured URI is the one that was trusted), and anything but a 200 with a
parseable key set is a `JwksFetchError`.

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

from meshproxy import config
from meshproxy.http.body import BodyError
from meshproxy.policy.jwks import MAX_JWKS_BYTES, JwksCache, JwksError, JwkSet, parse_jwks
from meshproxy.upstream.clienttls import ClientTLS
from meshproxy.upstream.connection import UpstreamConnection
from meshproxy.upstream.errors import UpstreamFailure
from meshproxy.upstream.pool import EndpointPool

__all__ = ["JwksFetchError", "JwksRefresher", "fetch_jwks"]

# What each upstream failure means to whoever configured the jwksUri.
_FAILURES = {
    "connect-failure": "connection failed",
    "reset": "connection closed before an answer",
    "protocol": "response is not HTTP/1.x",
    "timeout": "no answer",
    "overflow": "connection failed",
}


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
    host = parts.hostname
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = host if ":" not in host else f"[{host}]"
    if parts.port:
        host_header += f":{parts.port}"
    try:
        head = (
            f"GET {target} HTTP/1.1\r\nHost: {host_header}\r\n"
            "Accept: application/json, application/jwk-set+json\r\n"
            "User-Agent: meshproxy\r\nConnection: close\r\n\r\n"
        ).encode("ascii", "strict")
    except UnicodeEncodeError:
        raise JwksFetchError("jwksUri must be ASCII") from None
    tls = None
    if parts.scheme == "https":
        context = ssl_context or ssl.create_default_context()
        tls = ClientTLS(lambda: context, host)  # OpenSSL checks the certificate names `host`
    pool = EndpointPool(host, port or (443 if tls else 80), config.ConnectionPool(), tls)
    conn: UpstreamConnection | None = None
    try:
        conn = await pool.acquire()
        response = await conn.send(head, None, False)
        if response.status != 200:
            raise JwksFetchError(f"HTTP status {response.status}")
        body = response.body
        if isinstance(body, bytes):  # only a local reply carries bytes; kept for the type
            return body
        try:
            whole = await body.read_upto(max_bytes)
        except BodyError:
            raise JwksFetchError("response ended early or is malformed") from None
        if not whole:
            raise JwksFetchError(f"key set is larger than {max_bytes} bytes")
        return body.buffered()
    except UpstreamFailure as exc:
        raise JwksFetchError(_FAILURES[exc.kind]) from None
    finally:
        if conn is not None:
            conn.abort()  # one exchange only; a no-op once the server has closed
        pool.close()


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
