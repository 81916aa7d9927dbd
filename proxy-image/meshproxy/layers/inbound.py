"""A sidecar's inbound side without routes: forward to the local app on the port the caller
named in Host, when that port is one the workload exposes; anything else is 404.

The peer has already been verified by TLS (its identity is on the request); authz runs before
this layer.
"""

from __future__ import annotations

from meshproxy.http.message import LocalReply, Request, Response
from meshproxy.layers import Handler
from meshproxy.observability.metrics import RequestStats


class InboundLayer:
    __slots__ = ("_clusters", "_next", "_stats")

    def __init__(
        self, next_handler: Handler, clusters: set[int], stats: dict[str, RequestStats]
    ) -> None:
        self._next = next_handler
        self._clusters = {port: f"inbound|{port}" for port in clusters}
        self._stats = stats

    async def handle(self, request: Request) -> Response:
        _, sep, port = request.host.rpartition(":")
        cluster = (
            self._clusters.get(int(port)) if sep and port.isdigit() and port.isascii() else None
        )
        if cluster is None:
            raise LocalReply(404)
        request.cluster = cluster
        request.route = "inbound"
        request.stats = self._stats[cluster]
        return await self._next(request)
