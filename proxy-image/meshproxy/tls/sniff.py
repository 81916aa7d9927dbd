"""Tell a TLS ClientHello from plaintext on an accepted socket without consuming a byte.

PERMISSIVE inbound ports take both mTLS and plaintext on one port. The runtime accepts the raw
socket, calls `sniff_tls` (inside `asyncio.timeout`, like any first read), then hands the socket
to `loop.connect_accepted_socket` with or without the server context; because the byte was only
peeked, the TLS layer or the HTTP parser sees the stream from its start. This module must never
read (consume) data.
"""

from __future__ import annotations

import asyncio
import socket

# A TLS record opens with content type 22 (handshake). An HTTP/1.x request opens with a method
# token (ASCII letters), so one byte decides, and waiting for a second would only add a stall.
_HANDSHAKE = 0x16


def looks_like_tls(first_bytes: bytes) -> bool:
    return bool(first_bytes) and first_bytes[0] == _HANDSHAKE


async def sniff_tls(sock: socket.socket) -> bool:
    """True when the client opened with a TLS handshake record; ConnectionError when it closed
    (or reset) before sending anything."""
    loop = asyncio.get_running_loop()
    sock.setblocking(False)
    ready: asyncio.Future[bytes] = loop.create_future()

    def on_readable() -> None:
        if ready.done():
            return
        try:
            ready.set_result(sock.recv(1, socket.MSG_PEEK))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            ready.set_exception(exc)

    loop.add_reader(sock.fileno(), on_readable)
    try:
        peeked = await ready
    finally:
        loop.remove_reader(sock.fileno())
    if not peeked:
        raise ConnectionError("client closed before sending anything")
    return looks_like_tls(peeked)
