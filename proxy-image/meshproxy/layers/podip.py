"""Requests addressed to a Pod IP: past route match, on a sidecar's outbound listener, a request
whose Host is `podIP:port` of an endpoint the config names goes to that endpoint, without
routes (no filters, redirects or splits: those belong to Services, not Pods), as the Gateway
API's mesh profile asks.

The endpoint is reached as the cluster that names it reaches it: through its sidecar over mTLS
for a mesh cluster (its inbound side authorizes the caller as for any request), directly
otherwise; outlier detection and the pool's limits apply as for that cluster. Decided at config
load (`policy.destinations.pod_destinations`); per request it is one dict look-up, and only
for requests no route matched. This module must never pick among endpoints.
"""

from __future__ import annotations

from meshproxy.http.message import Exchange, Response
from meshproxy.layers.chain import Chain
from meshproxy.layers.route import RouteEntry
from meshproxy.layers.upstream import UpstreamLayer
from meshproxy.observability.metrics import RequestStats
from meshproxy.upstream.cluster import EndpointTarget


class PodAddresses:
    """The route layer's fallback: the entry for a Pod IP's host, after setting the exchange's
    cluster, route, endpoint and metrics; None for any other host."""

    __slots__ = ("_entry", "_targets", "_upstream")

    def __init__(
        self,
        upstream: UpstreamLayer,
        targets: dict[str, tuple[str, EndpointTarget, RequestStats]],
    ) -> None:
        self._upstream = upstream
        self._targets = targets
        self._entry = RouteEntry(Chain(self.handle, None), {})

    def resolve(self, exchange: Exchange) -> RouteEntry | None:
        found = self._targets.get(exchange.request.host)
        if found is None:
            return None
        cluster, _, stats = found
        exchange.cluster = cluster
        exchange.route = "pod-ip"
        exchange.stats = stats
        return self._entry

    async def handle(self, exchange: Exchange) -> Response:
        _, target, _ = self._targets[exchange.request.host]
        exchange.endpoint = target.label
        target.endpoint.active_requests += 1
        return await self._upstream.send(target, exchange)
