"""The proxy's end of the config stream: long polls over mTLS, each new config handed to `apply`.

One connection at a time, kept alive between polls. Every poll carries the version the proxy
serves (`applied`, its acknowledgement) and the last one it was sent (`received`). The server is
checked by the SPIFFE ID of its verified certificate, as a mesh peer is, never by name.

While the stream is up, `connected` is True and the proxy leaves its mounted file alone (the
kubelet projects it a minute late; the stream is ahead of it). When the server is away the proxy
keeps serving what it has and retries every `RETRY_MAX` seconds at most, so it catches up within
about that long of the server's return.

This module must never touch the request path: it runs as its own task and calls `apply`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import ssl
from collections.abc import Awaitable, Callable

from meshproxy.tls.contexts import mesh_client_context
from meshproxy.tls.errors import TLSFilesError
from meshproxy.tls.identity import peer_spiffe_id
from meshproxy.tls.reload import CertWatcher

from . import wire
from .settings import DeliverySettings

log = logging.getLogger("meshproxy.delivery")

CONNECT_TIMEOUT = 5.0
# Reconnects: fast, since a returning server must be caught up with within a second. A refusal
# (403) is not healed by retrying quickly.
RETRY_FIRST, RETRY_MAX, RETRY_REFUSED = 0.1, 0.5, 10.0


class Refused(Exception):
    """The server refused this proxy's identity for its target."""


class ConfigStream:
    def __init__(
        self,
        settings: DeliverySettings,
        apply: Callable[[bytes], Awaitable[bool]],
        applied_version: Callable[[], str],
    ) -> None:
        self.settings = settings
        self._apply = apply
        self._applied = applied_version
        self._received = ""
        # Who this proxy is, for the server's proxy status: Pod name (the host name in a Pod)
        # and process, never trusted for anything but counting.
        self.proxy_id = f"{os.environ.get('POD_NAME') or socket.gethostname()}/{os.getpid()}"
        self._watcher: CertWatcher | None = None
        self._context: ssl.SSLContext | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.last_error = ""
        self.pushes = 0  # configs received

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        delay = RETRY_FIRST
        while True:
            try:
                await self._session()
            except Refused as exc:
                self._lost(str(exc), logging.ERROR)
                await asyncio.sleep(RETRY_REFUSED)
                continue
            except (OSError, ssl.SSLError, TimeoutError, TLSFilesError, wire.WireError) as exc:
                self._lost(f"{type(exc).__name__}: {exc}", logging.INFO)
            if self.connected:
                delay = RETRY_FIRST
            # Jitter: proxies that lost the same server do not all return in the same instant.
            await asyncio.sleep(delay * (0.5 + random.random() / 2))  # noqa: S311 - not crypto
            delay = min(delay * 2, RETRY_MAX)

    def _lost(self, why: str, level: int) -> None:
        if self.connected or why != self.last_error:
            log.log(level, "config server %s: %s", self._where(), why)
        self.connected = False
        self.last_error = why

    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _client_context(self) -> ssl.SSLContext:
        """The mesh client context of the proxy's identity, rebuilt when its files changed."""
        identity = self.settings.identity
        if self._watcher is None or self._context is None or self._watcher.changed():
            watcher = CertWatcher([identity.cert_file, identity.key_file, identity.ca_file])
            self._context = mesh_client_context(identity)
            self._watcher = watcher
        return self._context

    async def _session(self) -> None:
        s = self.settings
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(s.host, s.port, ssl=self._client_context(), server_hostname=""),
            CONNECT_TIMEOUT,
        )
        try:
            ssl_object = writer.get_extra_info("ssl_object")
            peer = peer_spiffe_id(ssl_object, s.identity.trust_domain)
            if peer != s.server_id:
                raise ssl.SSLError(f"server identity {peer or 'none'}, expected {s.server_id}")
            while True:
                path = wire.poll_path(
                    str(s.target), self._applied(), self._received, wire.WAIT, self.proxy_id
                )
                reply = await asyncio.wait_for(
                    wire.get(reader, writer, path, s.host), wire.WAIT + wire.SLACK
                )
                await self._handle(reply)
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()

    async def _handle(self, reply: wire.Reply) -> None:
        if reply.status == 403:
            raise Refused(
                f"refused {self.settings.target}: {reply.body[:200].decode(errors='replace')}"
            )
        if reply.status not in (200, 304):
            raise wire.WireError(f"unexpected status {reply.status} for {self.settings.target}")
        if not self.connected:
            log.info("config server %s: streaming %s", self._where(), self.settings.target)
        self.connected = True
        self.last_error = ""
        if reply.status == 200:
            self._received = reply.headers.get(wire.VERSION_HEADER, "")
            self.pushes += 1
            await self._apply(reply.body)
