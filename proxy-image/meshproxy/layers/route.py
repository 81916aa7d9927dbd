"""Route match: find the route for (Host, method, normalised path, query, headers) and hand the
request to that route's own chain, built at config load. No route: 404.

For forwarding routes the weighted cluster is drawn here, once per request, so retries stay on
the cluster the split chose.

This module must never compile anything per request.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping

from meshproxy.http.message import LocalReply, Request, Response
from meshproxy.layers import Handler
from meshproxy.observability.metrics import RequestStats
from meshproxy.policy.routing import RouteTable


class RouteEntry:
    """A route's own chain, and its metrics children by cluster (pre-bound at load).

    `direct`: the chain is the upstream layer alone, so the direct path may forward it.
    """

    __slots__ = ("direct", "handle", "stats")

    def __init__(
        self, handle: Handler, stats: dict[str, RequestStats], direct: bool = False
    ) -> None:
        self.handle = handle
        self.stats = stats
        self.direct = direct


class RouteLayer:
    __slots__ = ("_chains", "_random", "_table")

    def __init__(self, table: RouteTable, chains: dict[int, RouteEntry]) -> None:
        self._table = table
        self._chains = chains  # id(config.Route) -> its entry
        self._random = random.Random().random  # noqa: S311 - traffic splitting, not secrets

    async def handle(self, request: Request) -> Response:
        return await self.resolve(request).handle(request)

    def resolve(self, request: Request) -> RouteEntry:
        """Match and record the route and cluster on `request`; the entry to continue with."""
        route = self._table.match(
            request.host, request.method, request.path, request.query, _LazyHeaders(request)
        )
        if route is None:
            raise LocalReply(404)
        entry = self._chains[id(route.config)]
        request.route = route.name
        if route.config.forward is not None:
            cluster = request.cluster = route.pick_cluster(self._random())
            request.stats = entry.stats[cluster]
        else:
            request.stats = entry.stats[""]
        return entry


class _LazyHeaders(Mapping[str, str]):
    """The request's headers as a mapping, built only if a route condition looks at them."""

    __slots__ = ("_request",)

    def __init__(self, request: Request) -> None:
        self._request = request

    def __getitem__(self, key: str) -> str:
        return self._request.headers_dict()[key]

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._request.headers_dict().get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._request.headers_dict())

    def __len__(self) -> int:
        return len(self._request.headers_dict())
