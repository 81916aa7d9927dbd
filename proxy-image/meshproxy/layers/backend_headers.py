"""A backend's own header modifiers (the Gateway API's backendRef filters), applied only to the
requests sent to that backend and to its responses.

The route layer picks the weighted cluster once per request (`exchange.cluster`); this layer,
inside the route's own filters and around its retries, looks that cluster's modifiers up in a
dict built at config load. A route whose backends carry no modifier never gets this layer.
"""

from __future__ import annotations

from meshproxy import config
from meshproxy.http.message import Exchange, Response
from meshproxy.layers import Handler
from meshproxy.policy.headers import HeaderOps

# cluster name -> (request ops, response ops); at least one of the two is set
BackendOps = dict[str, tuple[HeaderOps | None, HeaderOps | None]]


def compile_backend_ops(forward: config.Forward) -> BackendOps:
    """Each weighted cluster's compiled modifiers, for the clusters that have any."""
    ops: BackendOps = {}
    for c in forward.clusters:
        if c.request_headers is None and c.response_headers is None:
            continue
        ops[c.cluster] = (
            HeaderOps.compile(c.request_headers) if c.request_headers is not None else None,
            HeaderOps.compile(c.response_headers) if c.response_headers is not None else None,
        )
    return ops


class BackendRequestHeadersLayer:
    """Request modifiers only: all its work is done before the next layer, so a chain of
    callbacks (`prepare`) stays one."""

    __slots__ = ("_next", "_ops")

    def __init__(self, next_handler: Handler, ops: BackendOps) -> None:
        self._next = next_handler
        self._ops = {cluster: request for cluster, (request, _) in ops.items() if request}

    def prepare(self, exchange: Exchange) -> None:
        ops = self._ops.get(exchange.cluster)
        if ops is not None:
            request = exchange.request
            request.set_headers(ops.apply(request.headers))

    async def handle(self, exchange: Exchange) -> Response:
        self.prepare(exchange)
        return await self._next(exchange)


class BackendHeadersLayer:
    """Request and response modifiers."""

    __slots__ = ("_next", "_ops")

    def __init__(self, next_handler: Handler, ops: BackendOps) -> None:
        self._next = next_handler
        self._ops = ops

    async def handle(self, exchange: Exchange) -> Response:
        ops = self._ops.get(exchange.cluster)
        if ops is None:
            return await self._next(exchange)
        request_ops, response_ops = ops
        if request_ops is not None:
            request = exchange.request
            request.set_headers(request_ops.apply(request.headers))
        response = await self._next(exchange)
        if response_ops is not None:
            response.headers = response_ops.apply(response.headers)
        return response
