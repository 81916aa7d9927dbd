"""What one passthrough listener needs at run time, built once per config version.

A reload builds a new table and swaps the listener's reference (`ListenerState.passthrough`);
a connection keeps the table it was accepted with. Metric children are bound here, so a
connection's accounting is attribute reads and integer adds.

This module must never do I/O: it only builds objects.
"""

from __future__ import annotations

import random

from meshproxy import config
from meshproxy.observability.accesslog import AccessLog
from meshproxy.observability.metrics import Child, Registry
from meshproxy.upstream.cluster import ClusterRuntime

from .routes import SniRoutes, WeightedClusters

# Why a connection ended before (or instead of) reaching an upstream: metrics labels.
NOT_TLS = "not_tls"
MALFORMED = "malformed"
OVERSIZED = "oversized"
HELLO_TIMEOUT = "hello_timeout"
NO_ROUTE = "no_route"
NO_ENDPOINT = "no_endpoint"
CONNECT_FAILURE = "connect_failure"
OVERFLOW = "overflow"


class RouteRuntime:
    __slots__ = ("bytes_down", "bytes_up", "clusters", "connections", "name")

    def __init__(self, route: config.PassthroughRoute, listener: str, registry: Registry) -> None:
        self.name = route.name
        self.clusters = WeightedClusters(route.clusters)
        labels = {"listener": listener, "route": route.name}
        self.connections: Child = registry.counter(
            "meshproxy_passthrough_connections_total",
            "Passthrough connections forwarded to an upstream, by listener and route.",
        ).child(**labels)
        family = registry.counter(
            "meshproxy_passthrough_bytes_total",
            "Bytes forwarded by passthrough connections (counted when each closes), by "
            "listener, route and direction (upstream: from clients; downstream: to them).",
        )
        self.bytes_up: Child = family.child(direction="upstream", **labels)
        self.bytes_down: Child = family.child(direction="downstream", **labels)


class PassthroughTable:
    __slots__ = (
        "_refused",
        "_registry",
        "access_log",
        "clusters",
        "listener",
        "max_hello_bytes",
        "only",
        "protocol",
        "random",
        "routes",
    )

    def __init__(
        self,
        listener: config.Listener,
        passthrough: config.Passthrough,
        clusters: dict[str, ClusterRuntime],
        registry: Registry,
        access_log: AccessLog | None,
    ) -> None:
        self.listener = listener.name
        self.protocol = passthrough.protocol
        self.max_hello_bytes = passthrough.max_hello_bytes
        self.clusters = clusters
        self.access_log = access_log
        self._registry = registry
        self._refused: dict[str, Child] = {}
        runtimes = [(r.sni, RouteRuntime(r, listener.name, registry)) for r in passthrough.routes]
        self.routes: SniRoutes[RouteRuntime] = SniRoutes.compile(runtimes)
        # TCP: the one route, taken without reading a byte.
        self.only = runtimes[0][1] if passthrough.protocol == "TCP" and runtimes else None
        self.random = random.Random().random  # noqa: S311 - traffic splitting, not secrets

    def refused(self, reason: str) -> None:
        child = self._refused.get(reason)
        if child is None:
            child = self._refused[reason] = self._registry.counter(
                "meshproxy_passthrough_refused_total",
                "Passthrough connections closed without reaching an upstream, by listener and "
                "reason (not_tls, malformed, oversized, hello_timeout, no_route, no_endpoint, "
                "connect_failure, overflow).",
            ).child(listener=self.listener, reason=reason)
        child.inc()


def build_tables(
    cfg: config.ProxyConfig,
    clusters: dict[str, ClusterRuntime],
    registry: Registry,
    access_log: AccessLog | None,
) -> dict[str, PassthroughTable]:
    """A table for each passthrough listener of `cfg`, by listener name."""
    return {
        listener.name: PassthroughTable(
            listener, listener.passthrough, clusters, registry, access_log
        )
        for listener in cfg.listeners
        if isinstance(listener.passthrough, config.Passthrough)
    }
