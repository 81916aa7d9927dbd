"""What a client connection needs from its listener: the current stack, and who is still open.

The stack reference is swapped by a reload; a connection reads it when a request starts, so a
request in flight finishes on the stack it began with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from meshproxy import config

if TYPE_CHECKING:
    from meshproxy.http.message import Request, Response


class Stack(Protocol):
    """The request path of one listener, as the server calls it."""

    limits: config.Limits
    handle: Callable[[Request], Awaitable[Response]]

    def finish(self, request: Request, status: int, sent: int, ok: bool) -> None: ...

    def rejected(self, status: int) -> None:
        """Account for a request the server refused before it became a Request (400, 431...)."""


class Closable(Protocol):
    def shutdown(self) -> None: ...

    @property
    def busy(self) -> bool: ...


class ListenerState:
    """Shared by all connections of one listener."""

    __slots__ = ("connections", "draining", "scheme", "sni_names", "stack")

    def __init__(self, stack: Stack, scheme: str) -> None:
        self.stack = stack
        self.scheme = scheme
        self.connections: set[Closable] = set()
        self.draining = False
        # SSL objects to the SNI name their client sent (filled by the context's sni_callback).
        self.sni_names: dict[int, str] = {}
