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

    @property
    def direct(self) -> Direct | None:
        """Drives route match + forward by callbacks when the chain allows (`layers/direct.py`)."""

    def finish(self, request: Request, status: int, sent: int, ok: bool) -> None: ...

    def rejected(self, status: int) -> None:
        """Account for a request the server refused before it became a Request (400, 431...)."""


class Client(Protocol):
    """What the direct path needs of the client connection whose request it drives."""

    def respond(self, request: Request, response: Response, stack: Stack) -> None:
        """Write `response` now (or account for it when the client has gone)."""

    def reply_soon(self, request: Request, status: int, stack: Stack) -> None:
        """Answer a canned `status` on a later loop turn."""

    def spawn(self, request: Request, stack: Stack, pending: Awaitable[Response]) -> None:
        """Finish `request` on the general path: a Task awaits `pending`, then responds."""


class Direct(Protocol):
    def start(self, request: Request, client: Client, stack: Stack) -> None: ...


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
