"""Route match: find the route for (Host, method, normalised path, query, headers) and hand the
request to that route's own chain, built at config load. No route: the fallback's entry when
the listener has one and it knows the host (a sidecar's Pod IPs, `layers/podip.py`), else 404.

For forwarding routes the weighted cluster is drawn here, once per request, so retries stay on
the cluster the split chose.

This module must never compile anything per request.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import Protocol

from meshproxy.http.message import Exchange, LocalReply, Request, Response
from meshproxy.layers.chain import Chain
from meshproxy.observability.metrics import RequestStats
from meshproxy.policy.routing import RouteTable
from meshproxy.server.state import Client, Stack


class RouteEntry:
    """A route's own chain, and its metrics children by cluster (pre-bound at load)."""

    __slots__ = ("handle", "start", "stats")

    def __init__(self, chain: Chain, stats: dict[str, RequestStats]) -> None:
        self.handle = chain.handle
        self.start = chain.start
        self.stats = stats


class Fallback(Protocol):
    def resolve(self, exchange: Exchange, /) -> RouteEntry | None:
        """The entry for a request no route matched, with the exchange's route set; or None."""


class RouteLayer:
    __slots__ = ("_chains", "_fallback", "_random", "_table")

    def __init__(
        self, table: RouteTable, chains: dict[int, RouteEntry], fallback: Fallback | None = None
    ) -> None:
        self._table = table
        self._chains = chains  # id(config.Route) -> its entry
        self._fallback = fallback
        self._random = random.Random().random  # noqa: S311 - traffic splitting, not secrets

    async def handle(self, exchange: Exchange) -> Response:
        return await self.resolve(exchange).handle(exchange)

    def start(self, exchange: Exchange, client: Client, stack: Stack) -> None:
        entry = self.resolve(exchange)
        start = entry.start
        if start is None:
            client.spawn(exchange, stack, entry.handle(exchange))
        else:
            start(exchange, client, stack)

    def resolve(self, exchange: Exchange) -> RouteEntry:
        """Match and record the route and cluster on `exchange`; the entry to continue with."""
        request = exchange.request
        route = self._table.match(
            request.host, request.method, request.path, request.query, _LazyHeaders(request)
        )
        if route is None:
            fallback = self._fallback
            found = fallback.resolve(exchange) if fallback is not None else None
            if found is None:
                raise LocalReply(404)
            return found
        entry = self._chains[id(route.config)]
        exchange.route = route.name
        if route.config.forward is not None:
            cluster = exchange.cluster = route.pick_cluster(self._random())
            exchange.stats = entry.stats[cluster]
        else:
            exchange.stats = entry.stats[""]
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
