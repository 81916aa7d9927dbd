"""Listening sockets: bound here for a numeric address, by the event loop for a host name.

`loop.create_server(factory, host, port)` resolves even `0.0.0.0` with getaddrinfo, and uvloop
encodes the host with the `idna` codec first, whose import (`encodings.idna`, `stringprep`,
`unicodedata`) holds 0.45 MiB of every proxy, measured with bench/proxy/footprint.py. A numeric
address needs no resolving: the socket is made, bound and put in listening state here, with what
`create_server` would set (SO_REUSEADDR; IPV6_V6ONLY for IPv6), and handed over as `sock`.

This module only opens sockets; it never accepts or reads.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable

BACKLOG = 1024


def numeric_family(address: str) -> int | None:
    """AF_INET or AF_INET6 for a numeric address; None for a host name."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, address)
        except OSError:
            continue
        return family
    return None


def bound_socket(address: str, port: int, backlog: int = BACKLOG) -> socket.socket | None:
    """A non-blocking listening socket on a numeric `address`; None for a host name. Raises
    OSError (the address is taken, not local...) as `create_server` would."""
    family = numeric_family(address)
    if family is None:
        return None
    return listening_socket(family, address, port, backlog)


def listening_socket(family: int, address: str, port: int, backlog: int = BACKLOG) -> socket.socket:
    """A non-blocking socket of `family` bound to `address` and listening, with what
    `create_server` would set. Raises OSError as `create_server` would."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((address, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def create_server(
    loop: asyncio.AbstractEventLoop,
    factory: Callable[[], asyncio.BaseProtocol],
    address: str,
    port: int,
    ssl_context: ssl.SSLContext | None = None,
    ssl_handshake_timeout: float | None = None,
) -> asyncio.Server:
    """`loop.create_server` with SO_REUSEADDR and a backlog of `BACKLOG`."""
    sock = bound_socket(address, port)
    if sock is None:
        return await loop.create_server(
            factory,
            address,
            port,
            ssl=ssl_context,
            ssl_handshake_timeout=ssl_handshake_timeout,
            reuse_address=True,
            backlog=BACKLOG,
        )
    return await loop.create_server(
        factory,
        sock=sock,
        ssl=ssl_context,
        ssl_handshake_timeout=ssl_handshake_timeout,
        backlog=BACKLOG,
    )
