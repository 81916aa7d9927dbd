"""A cluster at run time: its endpoints, balancer, outlier detector and one pool per endpoint.

Built from `config.Cluster` when a stack is built. A reload that leaves a cluster's config
unchanged keeps the same `ClusterRuntime`, so warm connections and ejections survive it.

This module must never parse HTTP; it wires policy decisions to pools.
"""

from __future__ import annotations

import asyncio
import ssl

from meshproxy import config
from meshproxy.observability.metrics import Registry
from meshproxy.policy.balancer import Balancer, EndpointState, make_balancer
from meshproxy.policy.outlier import OutlierDetector
from meshproxy.upstream.pool import EndpointPool


class ClusterRuntime:
    def __init__(
        self,
        cfg: config.Cluster,
        registry: Registry,
        identity: config.Identity | None,
    ) -> None:
        self.cfg = cfg
        self.name = cfg.name
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
        context, sni = _tls_context(cfg, identity)
        stats = registry.pool_stats(cfg.name)
        port_of = (
            (lambda e: cfg.mesh_inbound_port) if cfg.tls.mode == "MESH" else (lambda e: e.port)
        )
        self.pools: dict[EndpointState, EndpointPool] = {
            e: EndpointPool(
                e.address, port_of(e), cfg.connection_pool, context, sni or e.address, stats
            )
            for e in self.endpoints
        }
        self.labels: dict[EndpointState, str] = {e: f"{e.address}:{e.port}" for e in self.endpoints}
        self._timer: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()
        self._schedule()

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
        self._schedule()

    def open_connections(self) -> int:
        return sum(p.open_connections for p in self.pools.values())

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for pool in self.pools.values():
            pool.close()


def _tls_context(
    cfg: config.Cluster, identity: config.Identity | None
) -> tuple[ssl.SSLContext | None, str | None]:
    tls = cfg.tls
    if tls.mode == "DISABLE":
        return None, None
    context = ssl.create_default_context(
        cafile=tls.ca_file or (identity.ca_file if identity and tls.mode == "MESH" else None)
    )
    if tls.mode == "MUTUAL" and tls.cert_file and tls.key_file:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.mode == "MESH":
        if identity is None:
            raise ValueError(f"cluster {cfg.name!r}: tls mode MESH needs the proxy's identity")
        context.load_cert_chain(identity.cert_file, identity.key_file)
        # Mesh peers are named by SPIFFE URI SANs, not DNS names: the identity check is by URI.
        context.check_hostname = False
    context.set_alpn_protocols(["http/1.1"])
    return context, tls.sni
