"""A built chain of layers: the handler to await, and whether it can also run without a Task.

`stack.py` builds every chain from the inside out: `Chain.of(innermost)`, then `chain.wrap(layer)`
for each layer around it, so the order is written there and only there. Each chain also knows
whether the connection may drive it by callbacks (`start`), which spares a Task and its
coroutine frames per request. That is a property of the layers in it, each saying so itself:

- a layer whose whole work is synchronous and done before the next layer runs, with nothing
  to do on the response, has `prepare(exchange)` (tracing);
- a layer that can hand the exchange on by callbacks has `start(exchange, client, stack)`:
  route match (it resolves the route, then starts that route's chain or spawns it), and the
  upstream layer (it writes the request on an idle pooled connection and answers from the
  connection's callback).

A chain starts by callbacks only when every layer in it is one of these; a layer that is
neither (retry, timeout, authz...) makes the chain await as a whole. A `start` may always fall
back to a Task for the rest (`client.spawn`): no idle connection, an upgrade, a failure to
retry. So driving by callbacks changes how a request is driven, never what is done to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from meshproxy.http.message import Exchange, Response
from meshproxy.layers import Handler
from meshproxy.server.state import Client, Stack, Start


class Layer(Protocol):
    def handle(self, exchange: Exchange, /) -> Awaitable[Response]: ...


class Prepares(Protocol):
    """All of the layer's work is `prepare`, done before the next layer runs."""

    def prepare(self, exchange: Exchange, /) -> None: ...


class Starts(Protocol):
    """The layer runs the exchange on (to its end, or to a `spawn`) by callbacks."""

    def start(self, exchange: Exchange, client: Client, stack: Stack, /) -> None: ...


class Chain:
    __slots__ = ("handle", "start")

    def __init__(self, handle: Handler, start: Start | None) -> None:
        self.handle = handle
        self.start = start

    @classmethod
    def of(cls, layer: Layer) -> Chain:
        """The chain of the innermost `layer` alone."""
        start: Start | None = getattr(layer, "start", None)  # a `Starts` layer
        return cls(layer.handle, start)

    def wrap(self, layer: Layer) -> Chain:
        """This chain with `layer` around it (`layer` was built with `self.handle` as next)."""
        start = self.start
        prepare: Callable[[Exchange], None] | None = getattr(layer, "prepare", None)  # `Prepares`
        if start is not None and prepare is not None:
            return Chain(layer.handle, _Prepared(prepare, start).start)
        return Chain(layer.handle, None)


class _Prepared:
    __slots__ = ("_next", "_prepare")

    def __init__(self, prepare: Callable[[Exchange], None], next_start: Start) -> None:
        self._prepare = prepare
        self._next = next_start

    def start(self, exchange: Exchange, client: Client, stack: Stack) -> None:
        self._prepare(exchange)
        self._next(exchange, client, stack)
