"""TLS session resumption for outbound mesh connections.

asyncio's `create_connection` takes no session, so the mesh client context is a
`ResumingContext`: its `wrap_bio`, which the event loop's SSL protocol calls once per new
connection, offers the session that the connecting task set with `offering()` (a context
variable, so concurrent connects to different peers never see each other's session).
`LastSession` keeps one peer's latest session together with the context that made it; after a
certificate rotation the context differs and the old session is dropped, never offered.

This module must never stand in for verification: a resumed session carries the peer's verified
certificate, and the caller checks the peer's identity exactly as after a full handshake.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_OFFER: ContextVar[ssl.SSLSession | None] = ContextVar("meshproxy_tls_offer", default=None)


class ResumingContext(ssl.SSLContext):
    """A client context that offers the session handed to it by `offering()`."""

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        if session is None and not server_side:
            session = _OFFER.get()
        return super().wrap_bio(incoming, outgoing, server_side, server_hostname, session)


@contextmanager
def offering(session: ssl.SSLSession | None) -> Iterator[None]:
    """Offer `session` on the connections this task opens inside the block."""
    token = _OFFER.set(session)
    try:
        yield
    finally:
        _OFFER.reset(token)


class LastSession:
    """One peer's most recent resumable session, tied to the context it was made with."""

    __slots__ = ("_context", "_session")

    def __init__(self) -> None:
        self._context: ssl.SSLContext | None = None
        self._session: ssl.SSLSession | None = None

    def offer(self, context: ssl.SSLContext) -> ssl.SSLSession | None:
        """The session to offer on a new connection made with `context`, if any."""
        if context is not self._context:
            self._context = self._session = None
        return self._session

    def keep(self, ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> None:
        """Remember the connection's session; call it once data has arrived, since TLS 1.3
        tickets come after the handshake."""
        if ssl_object is None:
            return
        session = ssl_object.session
        if session is not None and session.has_ticket:
            self._context = ssl_object.context
            self._session = session
