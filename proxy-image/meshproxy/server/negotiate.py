"""Which codec serves a client connection: HTTP/1.1 or HTTP/2.

Over TLS the handshake's ALPN says it (`h2` or `http/1.1`). Without ALPN (plaintext, or a TLS
client that offered none) a client speaks HTTP/2 with prior knowledge by opening with the
connection preface; anything else is HTTP/1.x. The chosen protocol object takes the transport
over (`set_protocol`) and sees the stream from its first byte, so this costs one object and
one call per connection, never anything per request. A client that sends nothing is closed
after the header timeout, as the HTTP/1 codec would close it. Until a codec takes over, the
connection is counted by the listener's guard like any other (admitted or refused at accept,
its header timeout counted and logged), so silent connections cannot get past the caps.

A TCP or TLS passthrough listener is decided before any of this: its connections go to
`meshproxy.passthrough` at once, which admits them and reads only a ClientHello.

This module must never parse a request.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from meshproxy.limits import guard as limit
from meshproxy.passthrough.connection import PassthroughConnection
from meshproxy.server.protocol import HttpServerProtocol
from meshproxy.server.state import ListenerState

# RFC 9113 §3.4. Spelled here so the `h2` library is imported only by a proxy that gets an
# HTTP/2 client (a sidecar that never does keeps its memory).
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class CodecChoice(asyncio.Protocol):
    __slots__ = (
        "_admitted",
        "_buffer",
        "_client",
        "_identity_of",
        "_listener",
        "_timer",
        "_transport",
    )

    def __init__(self, listener: ListenerState, identity_of: Any = None) -> None:
        self._listener = listener
        self._identity_of = identity_of
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._admitted = False
        self._client = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        self._transport = transport
        if self._listener.passthrough is not None:
            self._hand_over(_passthrough(self._listener))
            return
        ssl_object = transport.get_extra_info("ssl_object")
        alpn = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        if alpn == "h2":
            self._hand_over(_h2(self._listener, self._identity_of))
        elif alpn is not None:
            self._hand_over(HttpServerProtocol(self._listener, self._identity_of))
        else:
            guard = self._listener.guard
            peer = transport.get_extra_info("peername")
            self._client = peer[0] if peer else ""
            refused = guard.admit(self._client)
            if refused is not None:
                guard.hit(refused, self._client)
                transport.abort()
                return
            self._admitted = True
            timeout = guard.limits.header_timeout
            self._timer = asyncio.get_running_loop().call_later(timeout, self._timed_out)

    def _timed_out(self) -> None:
        self._timer = None
        self._listener.guard.hit(limit.HEADER_TIMEOUT, self._client)
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        if len(buffer) < len(PREFACE) and PREFACE.startswith(buffer):
            self._buffer = buffer  # could still be the preface: wait for the rest
            return
        self._buffer = b""
        protocol: asyncio.Protocol
        if buffer.startswith(PREFACE):
            protocol = _h2(self._listener, self._identity_of)
        else:
            protocol = HttpServerProtocol(self._listener, self._identity_of)
        self._hand_over(protocol, buffer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._leave()

    def _leave(self) -> None:
        if self._admitted:
            self._admitted = False
            self._listener.guard.leave(self._client)

    def _hand_over(self, protocol: asyncio.Protocol, data: bytes = b"") -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._leave()  # the codec counts the connection in itself, at once
        transport = self._transport
        assert transport is not None
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if data:
            protocol.data_received(data)


def _passthrough(listener: ListenerState) -> asyncio.Protocol:
    assert listener.passthrough is not None
    return PassthroughConnection(listener, listener.passthrough)


def _h2(listener: ListenerState, identity_of: Any) -> asyncio.Protocol:
    from meshproxy.server.h2connection import H2ServerConnection

    return H2ServerConnection(listener, identity_of)
