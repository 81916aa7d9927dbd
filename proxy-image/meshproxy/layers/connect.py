"""CONNECT: open a tunnel's upstream leg and answer `200` with the tunnel, or refuse.

The innermost layer of a listener's CONNECT chain (`stack.py` builds one only for a sidecar's
outbound and inbound listeners; an edge listener answers CONNECT 405):
- outbound: the target `host:port` names the destination (`policy.destinations`, decided at
  config load): a Service port, whose endpoint is picked as for requests (balancer,
  ejections), or a Pod's address, that endpoint only; an unknown one is a 404, as a plain
  request to an unknown host is. A mesh cluster's leg is mTLS to the
  endpoint's sidecar, which authorizes the caller's identity (`upstream.legs.mesh`); any other
  cluster's is TCP to the endpoint itself: TLS the proxy would originate has no place inside a
  tunnel whose bytes are the client's own TLS.
- inbound: the layers before this one (target port, peer mode, authz) chose `inbound|<port>`;
  the leg is TCP to the app.

Each tunnel is a request in the metrics and the access log (status 200, its lifetime, the bytes
sent to the client), counted when it ends. This module must never read the tunnelled bytes.
"""

from __future__ import annotations

import asyncio
import math

from meshproxy.http.message import Exchange, LocalReply, Response
from meshproxy.observability.metrics import RequestStats
from meshproxy.policy.balancer import EndpointState, hash_key_for
from meshproxy.upstream import legs
from meshproxy.upstream.cluster import ClusterRuntime
from meshproxy.upstream.errors import UpstreamFailure
from meshproxy.upstream.pool import EndpointPool


class ConnectLayer:
    __slots__ = (
        "_clusters",
        "_destinations",
        "_idle_timeout",
        "_loop",
        "_plain",
        "_pods",
        "_stats",
    )

    def __init__(
        self,
        clusters: dict[str, ClusterRuntime],
        destinations: dict[str, str] | None,
        stats: dict[str, RequestStats],
        idle_timeout: float | None,
        pods: dict[str, tuple[str, int]] | None = None,
    ) -> None:
        """`destinations`: `host:port` -> cluster (outbound), or None when an earlier layer sets
        `exchange.cluster` (inbound). `pods`: a Pod's `address:port` -> (cluster, index of that
        endpoint), tunnelled to that endpoint only. `stats`: by cluster name."""
        self._clusters = clusters
        self._destinations = destinations
        self._pods = pods or {}
        self._stats = stats
        self._idle_timeout = idle_timeout
        self._loop = asyncio.get_running_loop()
        # Clusters whose upstream TLS the proxy would originate get plain pools of their own.
        self._plain: dict[str, dict[EndpointState, EndpointPool]] = {}

    async def handle(self, exchange: Exchange) -> Response:
        request = exchange.request
        pinned: int | None = None
        if self._destinations is not None:
            name = self._destinations.get(request.host)
            if name is None:
                name, pinned = self._pods.get(request.host, ("", None))
                if pinned is None:
                    raise LocalReply(404)
            exchange.cluster = name
            exchange.route = "connect"
            exchange.stats = self._stats.get(name)
        cluster = self._clusters.get(exchange.cluster)
        if cluster is None:
            raise LocalReply(404)
        now = self._loop.time()
        endpoint = (
            cluster.endpoints[pinned] if pinned is not None else self._pick(cluster, exchange, now)
        )
        target = cluster.targets[endpoint]
        exchange.endpoint = target.label
        idle_timeout = self._idle_timeout
        idle = (idle_timeout, lambda: _flag_idle(exchange)) if idle_timeout else None
        endpoint.active_requests += 1
        try:
            if cluster.cfg.tls.mode == "MESH":
                tunnel = await legs.mesh(target.pool, request.host, target.extra, idle)
            else:
                tunnel = await legs.plain(self._plain_pool(cluster, endpoint), idle)
        except legs.RefusedByPeer as refused:
            raise LocalReply(refused.status) from None
        except UpstreamFailure:
            if target.detector is not None:
                target.detector.record(endpoint, None, now)
            raise
        finally:
            endpoint.active_requests -= 1
        response = Response(200, [], b"")
        response.extra = tunnel
        return response

    def _pick(self, cluster: ClusterRuntime, exchange: Exchange, now: float) -> EndpointState:
        hash_key = (
            hash_key_for(cluster.hash_cfg, exchange.request.headers_dict(), exchange.client_ip)
            if cluster.hash_cfg is not None
            else None
        )
        endpoint = cluster.balancer.pick(hash_key, now) or cluster.balancer.pick(hash_key, math.inf)
        if endpoint is None:
            raise LocalReply(503)
        return endpoint

    def _plain_pool(self, cluster: ClusterRuntime, endpoint: EndpointState) -> EndpointPool:
        if cluster.cfg.tls.mode == "DISABLE":
            return cluster.targets[endpoint].pool
        pools = self._plain.setdefault(cluster.name, {})
        pool = pools.get(endpoint)
        if pool is None:
            pool = pools[endpoint] = EndpointPool(
                endpoint.address, endpoint.port, cluster.cfg.connection_pool
            )
        return pool


def _flag_idle(exchange: Exchange) -> None:
    exchange.flags = "tunnel_idle_timeout"  # for the access log line written when it ends
