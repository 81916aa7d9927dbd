"""A listener that takes mTLS and plaintext on one port (PeerAuthentication PERMISSIVE).

Each accepted socket is peeked at (`tls.sniff.sniff_tls`, within the header timeout, so a
silent client cannot hold a task forever), then handed to the event loop with the server context
when it opened with a TLS handshake, without when not. Nothing is consumed by the peek, so TLS
or the HTTP parser sees the stream from its first byte.

This module must never decide who the peer is: the protocol reads the verified certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable

from meshproxy.server.listen import listening_socket, numeric_family
from meshproxy.tls.sniff import sniff_tls

log = logging.getLogger("meshproxy.server")

_ACCEPTS_PER_WAKEUP = 64  # bounded, so a connection storm cannot starve the event loop


class SniffingServer:
    """What `runtime` needs of a server: `close()` stops accepting."""

    def __init__(
        self,
        factory: Callable[[], asyncio.Protocol],
        context: ssl.SSLContext,
        timeout: float,
    ) -> None:
        self._factory = factory
        self._context = context
        self._timeout = timeout
        self._sock: socket.socket | None = None
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self, address: str, port: int, backlog: int = 1024) -> None:
        # A host name is bound as IPv4, as before; a numeric address gets its own family.
        family = numeric_family(address) or socket.AF_INET
        sock = listening_socket(family, address, port, backlog)
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        # A reader callback, not `sock_accept`: `close` must free the port synchronously, so a
        # listener reopened at once (a peer authentication mode change) can bind it again.
        self._loop.add_reader(sock.fileno(), self._on_acceptable)

    def _on_acceptable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        for _ in range(_ACCEPTS_PER_WAKEUP):
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("inbound accept failed: %s", exc.strerror)  # e.g. EMFILE
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = self._loop.create_task(self._serve(conn))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _serve(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                is_tls = await sniff_tls(conn)
            await loop.connect_accepted_socket(
                self._factory,
                conn,
                ssl=self._context if is_tls else None,
                ssl_handshake_timeout=self._timeout if is_tls else None,
            )
        except (OSError, TimeoutError, ssl.SSLError):
            # Silent, gone, or a handshake our trust bundle refuses: nothing is owed to it.
            conn.close()

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            self._loop.remove_reader(sock.fileno())
        for task in list(self._pending):
            task.cancel()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
