"""What a client connection needs from its listener: the current stack, and who is still open.

The stack reference is swapped by a reload; a connection reads it when a request starts, so a
request in flight finishes on the stack it began with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from meshproxy import config
from meshproxy.http.message import Exchange, Response
from meshproxy.limits.guard import ListenerGuard
from meshproxy.limits.settings import resolve
from meshproxy.limits.slow_lane import SlowLane

if TYPE_CHECKING:
    from meshproxy.passthrough.table import PassthroughTable


class Stack(Protocol):
    """The request path of one listener, as the server calls it."""

    limits: config.Limits
    handle: Callable[[Exchange], Awaitable[Response]]
    # CONNECT requests go here instead (a sidecar's listeners); None: CONNECT is a 405.
    connect: Callable[[Exchange], Awaitable[Response]] | None

    @property
    def start(self) -> Start | None:
        """Drives the whole chain by callbacks, when each of its layers can (`layers/chain.py`)."""

    def finish(self, exchange: Exchange, status: int, sent: int, ok: bool) -> None: ...

    def rejected(self, status: int) -> None:
        """Account for a request the server refused before it became an Exchange (400, 431...)."""


class Client(Protocol):
    """What a chain driven by callbacks needs of the client connection whose request it runs."""

    def respond(self, exchange: Exchange, response: Response, stack: Stack) -> None:
        """Write `response` now (or account for it when the client has gone)."""

    def reply_soon(self, exchange: Exchange, status: int, stack: Stack) -> None:
        """Answer a canned `status` on a later loop turn."""

    def spawn(self, exchange: Exchange, stack: Stack, pending: Awaitable[Response]) -> None:
        """Finish `exchange` with a Task that awaits `pending`, then responds."""


Start = Callable[[Exchange, Client, Stack], None]
"""Runs an exchange through a chain without a Task: it answers through `Client` (or raises
`LocalReply` before anything was sent)."""


class Closable(Protocol):
    def shutdown(self) -> None: ...

    @property
    def busy(self) -> bool: ...


class ListenerState:
    """Shared by all connections of one listener."""

    __slots__ = (
        "connections",
        "draining",
        "guard",
        "lane",
        "passthrough",
        "scheme",
        "sni_names",
        "stack",
    )

    def __init__(self, stack: Stack, scheme: str, guard: ListenerGuard | None = None) -> None:
        self.stack = stack
        self.scheme = scheme
        # Connection counts and limits (`meshproxy.limits`); by default those of a listener
        # that sets none, with the stack's proxy-wide timeouts.
        self.guard = guard or ListenerGuard(resolve(None, stack.limits))
        self.connections: set[Closable] = set()
        # Connections sending their requests slowly, read on the proxy's schedule.
        self.lane = SlowLane(*self.guard.lane_counters(), every=self._tick)
        self.draining = False
        # SSL objects to the SNI name their client sent (filled by the context's sni_callback).
        self.sni_names: dict[int, str] = {}
        # Set on a TCP/TLS passthrough listener (swapped by a reload as `stack` is): its
        # connections never reach a codec.
        self.passthrough: PassthroughTable | None = None

    def _tick(self) -> float:
        """How often the receive deadlines of requests still arriving are looked at (the
        listener's limits, as a reload left them)."""
        return self.guard.limits.tick
