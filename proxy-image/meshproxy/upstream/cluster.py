"""A cluster at run time: its endpoints, balancer, outlier detector and one pool per endpoint.

Built from `config.Cluster` when a stack is built. A reload that leaves a cluster's config
unchanged keeps the same `ClusterRuntime`, so warm connections and ejections survive it.

This module must never parse HTTP; it wires policy decisions to pools.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from meshproxy import config
from meshproxy.http.heads import TARGET_PORT_HEADER
from meshproxy.observability.metrics import Registry
from meshproxy.policy.balancer import Balancer, EndpointState, make_balancer
from meshproxy.policy.outlier import OutlierDetector
from meshproxy.tls.reload import ReloadingIdentity
from meshproxy.upstream.clienttls import client_tls
from meshproxy.upstream.pool import EndpointPool

if TYPE_CHECKING:
    from meshproxy.upstream.h2pool import H2Pool


class EndpointTarget:
    """What a request sent to one endpoint needs, bound once per config: no lookups per request."""

    __slots__ = ("detector", "endpoint", "extra", "h2", "h2_always", "label", "pool")

    def __init__(
        self,
        endpoint: EndpointState,
        pool: EndpointPool,
        label: str,
        extra: str,
        detector: OutlierDetector | None,
        h2: H2Pool | None = None,
        h2_always: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.pool = pool
        # HTTP/2 clusters: every request goes over `h2`; DOWNSTREAM ones: those that came in
        # over HTTP/2 (`h2_always` False). None for HTTP/1 clusters.
        self.h2 = h2
        self.h2_always = h2_always
        self.label = label  # `address:port`, for the access log
        self.extra = extra  # whole header lines this cluster adds (a mesh peer's target port)
        self.detector = detector


class ClusterRuntime:
    def __init__(
        self,
        cfg: config.Cluster,
        registry: Registry,
        identity: ReloadingIdentity | None,
    ) -> None:
        self.cfg = cfg
        self.name = cfg.name
        # MESH clusters follow the workload identity; other clusters do not depend on it.
        self.identity = identity if cfg.tls.mode == "MESH" else None
        self.endpoints = [EndpointState.from_config(e) for e in cfg.endpoints]
        self.balancer: Balancer = make_balancer(cfg, self.endpoints)
        self.hash_cfg = (
            cfg.load_balancer.consistent_hash
            if cfg.load_balancer.policy == "CONSISTENT_HASH"
            else None
        )
        self.detector = (
            OutlierDetector(cfg.outlier_detection, self.endpoints)
            if cfg.outlier_detection is not None
            else None
        )
        tls = client_tls(cfg, identity, registry.upstream_identity_rejected.child(cluster=cfg.name))
        stats = registry.pool_stats(cfg.name)
        mesh = cfg.tls.mode == "MESH"
        pool_cfg = cfg.connection_pool
        self.pools: dict[EndpointState, EndpointPool] = {
            e: EndpointPool(e.address, self._dial_port(e, mesh), pool_cfg, tls, stats)
            for e in self.endpoints
        }
        self.h2_pools: dict[EndpointState, H2Pool] = {}
        if cfg.protocol != "HTTP1":
            # Imported here: a proxy with no HTTP/2 cluster never loads the `h2` library.
            from meshproxy.upstream.h2pool import H2Pool

            self.h2_pools = {
                e: H2Pool(e.address, self._dial_port(e, mesh), pool_cfg, tls, stats)
                for e in self.endpoints
            }
        # The peer sidecar listens on its inbound port for every workload port: tell it which
        # one this request is for (read there only on verified mTLS connections).
        self.mesh_lines: dict[EndpointState, str] | None = (
            {e: f"{TARGET_PORT_HEADER}: {e.port}\r\n" for e in self.endpoints} if mesh else None
        )
        self.labels: dict[EndpointState, str] = {e: f"{e.address}:{e.port}" for e in self.endpoints}
        self.targets: dict[EndpointState, EndpointTarget] = {
            e: EndpointTarget(
                e,
                self.pools[e],
                self.labels[e],
                self.mesh_lines[e] if self.mesh_lines is not None else "",
                self.detector,
                self.h2_pools.get(e),
                cfg.protocol == "HTTP2",
            )
            for e in self.endpoints
        }
        self._timer: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()
        self._schedule()

    def _dial_port(self, endpoint: EndpointState, mesh: bool) -> int:
        return self.cfg.mesh_inbound_port if mesh else endpoint.port

    def reusable_for(self, cfg: config.Cluster, identity: ReloadingIdentity | None) -> bool:
        """Whether a reload may keep this runtime (warm connections, ejections) for `cfg`."""
        return self.cfg == cfg and (cfg.tls.mode != "MESH" or self.identity is identity)

    def _schedule(self) -> None:
        interval = 1.0
        if self.detector is not None and self.cfg.outlier_detection is not None:
            interval = min(interval, max(self.cfg.outlier_detection.interval, 0.05))
        self._timer = self._loop.call_later(interval, self._tick)

    def _tick(self) -> None:
        """Periodic upkeep: un-eject endpoints whose time is up, close stale idle connections."""
        if self.detector is not None:
            self.detector.tick(self._loop.time())
        for pool in self.pools.values():
            pool.sweep()
        for h2_pool in self.h2_pools.values():
            h2_pool.sweep()
        self._schedule()

    def open_connections(self) -> int:
        return sum(p.open_connections for p in self.pools.values()) + sum(
            p.open_connections for p in self.h2_pools.values()
        )

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for pool in self.pools.values():
            pool.close()
        for h2_pool in self.h2_pools.values():
            h2_pool.close()
