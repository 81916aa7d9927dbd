"""The request path, assembled in one place.

Order, outermost first (each step one file in `layers/`):

    access log ─▶ metrics ─▶ tracing ─▶ [inbound: target port, peer mTLS mode] ─▶ rate limit¹
      ─▶ authn ─▶ authz ─▶ rate limit² ─▶ route match (a sidecar: no route, a Pod IP ─▶ pool)
      └─ per route: rate limit¹ ─▶ authn ─▶ rate limit² ─▶ fault ─▶ transform ─▶ CORS
                    ─▶ JSON projection ─▶ cache ─▶ mirror ─▶ timeout ─▶ retry
                    ─▶ balance + outlier + pool

Each chain is built from the inside out with `layers.chain.Chain`, which also says whether the
connection may drive it by callbacks instead of a Task: only when every layer in it can (today
tracing, route match and the upstream layer; see `layers/chain.py`). That is how a listener
whose chain is tracing ─▶ route match, with routes that only forward, runs with no Task per
request; the order itself is written here and nowhere else.

CONNECT has a chain of its own, built only for a sidecar's listeners (`connect`; None at the
edge, where the server answers 405): the same listener layers around `layers.connect`
instead of route match, since a tunnel's bytes cannot be routed.

Access log and metrics observe each request when its response has been fully written
(`ListenerStack.finish`), so they wrap the whole exchange, streaming included, without a
coroutine frame of their own. Every chain is built here, at config load: a layer that the
listener or route does not configure is simply not in its chain. A reload builds a new set of
stacks and swaps one reference per listener; requests in flight finish on the old one.

¹ limits keyed by client IP or header run before authentication, so a flood of bad credentials
is refused before any signature check; ² limits keyed by API key consumer or JWT claim run
after it, since only authentication can say who the request is.

Layers that only some configs use (policies, retries, a sidecar's inbound and CONNECT side) are
imported where their chain is built, when a config first asks for them: a process whose config
never names one never loads its code (a sidecar pays its idle memory once per Pod).

This module must never do I/O or open sockets; it only builds objects.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from meshproxy import config
from meshproxy.edge.resources import EdgeResources
from meshproxy.http.message import Exchange, Response
from meshproxy.layers import Handler
from meshproxy.layers.chain import Chain
from meshproxy.layers.route import RouteEntry, RouteLayer
from meshproxy.layers.tracing import TracingLayer
from meshproxy.layers.upstream import UpstreamLayer
from meshproxy.observability.accessline import AccessLine
from meshproxy.observability.accesslog import AccessLog
from meshproxy.observability.metrics import Registry, RequestStats
from meshproxy.passthrough.table import PassthroughTable, build_tables
from meshproxy.policy.routing import CompiledRoute, RouteTable
from meshproxy.upstream.cluster import ClusterRuntime

if TYPE_CHECKING:
    from meshproxy.layers.podip import PodAddresses
    from meshproxy.tls.reload import ReloadingIdentity

log = logging.getLogger("meshproxy.stack")

DIRECTIONS = {"edge": "ingress", "outbound": "outbound", "inbound": "inbound"}

# A CONNECT tunnel where no byte moved either way for this long is closed (Envoy's TCP proxy
# default): long enough for a quiet gRPC channel, short enough that abandoned ones go.
TUNNEL_IDLE_TIMEOUT = 3600.0


class ListenerStack:
    """One listener's request path, as the server calls it."""

    __slots__ = (
        "_access_line",
        "_access_log",
        "_default_stats",
        "_loop",
        "_name",
        "_registry",
        "_rejected",
        "connect",
        "handle",
        "limits",
        "start",
    )

    def __init__(
        self,
        listener: config.Listener,
        chain: Chain,
        limits: config.Limits,
        registry: Registry,
        access_log: AccessLog | None,
        connect: Handler | None = None,
    ) -> None:
        self.handle = chain.handle
        self.start = chain.start
        self.connect = connect  # the CONNECT chain; None: CONNECT is answered 405
        self.limits = limits
        self._name = listener.name
        self._registry = registry
        self._access_log = access_log
        self._access_line = AccessLine(listener.name)
        self._loop = asyncio.get_running_loop()
        self._default_stats = registry.request_stats(
            listener=listener.name, direction=DIRECTIONS[listener.role], route="", cluster=""
        )
        self._rejected: dict[int, Any] = {}

    def finish(self, exchange: Exchange, status: int, sent: int, ok: bool) -> None:
        duration = time.perf_counter() - exchange.start
        stats = exchange.stats or self._default_stats
        stats.observe(status, duration)
        if exchange.request.version == "2":
            stats.h2 += 1
            grpc_status = exchange.grpc_status
            if grpc_status:
                stats.grpc[grpc_status] = stats.grpc.get(grpc_status, 0) + 1
        access_log = self._access_log
        if access_log is not None:
            access_log.write_line(self._access_line(exchange, status, duration, sent, ok))

    def rejected(self, status: int) -> None:
        child = self._rejected.get(status)
        if child is None:
            child = self._rejected[status] = self._registry.rejected.child(
                listener=self._name, code=str(status)
            )
        child.inc()


class Built:
    """Everything one config version builds: clusters and the stack of each listener."""

    def __init__(
        self,
        cfg: config.ProxyConfig,
        clusters: dict[str, ClusterRuntime],
        stacks: dict[str, ListenerStack],
        access_log: AccessLog | None,
        edge: EdgeResources,
        passthrough: dict[str, PassthroughTable] | None = None,
    ) -> None:
        self.config = cfg
        self.clusters = clusters
        self.stacks = stacks
        self.passthrough = passthrough or {}  # TCP/TLS listeners' tables, by listener name
        self.access_log = access_log
        self.edge = edge  # file watches, JWKS fetches, Redis clients of edge policies

    def close_unused(self, successor: Built | None) -> None:
        """Close the clusters the successor does not reuse."""
        keep = set(map(id, successor.clusters.values())) if successor is not None else set()
        for cluster in self.clusters.values():
            if id(cluster) not in keep:
                cluster.close()
        self.edge.close_unused(successor.edge if successor is not None else None)


def build(
    cfg: config.ProxyConfig,
    registry: Registry,
    previous: Built | None = None,
    identity: ReloadingIdentity | None = None,
) -> Built:
    """Build every stack of `cfg`. Raises ValueError when something cannot be compiled."""
    clusters: dict[str, ClusterRuntime] = {}
    old = previous.clusters if previous is not None else {}
    for cluster_cfg in cfg.clusters:
        reuse = old.get(cluster_cfg.name)
        if reuse is not None and reuse.reusable_for(cluster_cfg, identity):
            clusters[cluster_cfg.name] = reuse
        else:
            clusters[cluster_cfg.name] = ClusterRuntime(cluster_cfg, registry, identity)
    access_cfg = cfg.observability.access_log
    access_log = None
    if access_cfg.enabled:
        if (
            previous is not None
            and previous.access_log is not None
            and (previous.config.observability.access_log == access_cfg)
        ):
            access_log = previous.access_log
        else:
            access_log = AccessLog(access_cfg.path)
    edge = EdgeResources(previous.edge if previous is not None else None)
    builder = _Builder(cfg, registry, clusters, edge)
    try:
        stacks = {
            listener.name: ListenerStack(
                listener,
                builder.listener_chain(listener),
                cfg.limits,
                registry,
                access_log,
                builder.connect_chain(listener),
            )
            for listener in cfg.listeners
        }
    except ValueError:
        edge.close_unused(previous.edge if previous is not None else None)
        raise
    passthrough = build_tables(cfg, clusters, registry, access_log)
    return Built(cfg, clusters, stacks, access_log, edge, passthrough)


class _Builder:
    def __init__(
        self,
        cfg: config.ProxyConfig,
        registry: Registry,
        clusters: dict[str, ClusterRuntime],
        edge: EdgeResources,
    ) -> None:
        self.cfg = cfg
        self.registry = registry
        self.clusters = clusters
        self.edge = edge
        self.authn_failures = registry.counter(
            "meshproxy_authn_failures_total", "Requests refused with 401, by authn policy, reason."
        )
        self.authn = {a.name: a for a in cfg.authn}
        self.authz = {a.name: a for a in cfg.authz}
        self.rate_limits = {r.name: r for r in cfg.rate_limits}
        # Inbound listeners without routes: their clusters' metrics children, by cluster name.
        self.inbound_stats: dict[str, dict[str, RequestStats]] = {}

    def listener_chain(self, listener: config.Listener) -> Chain:
        direction = DIRECTIONS[listener.role]
        upstream = UpstreamLayer(self.clusters, set_forwarded_proto=listener.role == "edge")
        chain: Chain
        if listener.role == "inbound" and not listener.virtual_hosts:
            assert listener.inbound is not None
            inbound_clusters = {
                port: ClusterRuntime(
                    config.Cluster(
                        name=f"inbound|{port}",
                        endpoints=[
                            config.Endpoint(address=listener.inbound.forward_address, port=port)
                        ],
                        # The app is spoken to as its caller spoke to this sidecar: a gRPC
                        # caller's HTTP/2 stays HTTP/2, an HTTP/1.1 caller's stays HTTP/1.1.
                        protocol="DOWNSTREAM",
                    ),
                    self.registry,
                    None,
                )
                for port in listener.inbound.allowed_ports
            }
            self.clusters.update({c.name: c for c in inbound_clusters.values()})
            stats = {
                c.name: self.registry.request_stats(
                    listener=listener.name, direction=direction, route="inbound", cluster=c.name
                )
                for c in inbound_clusters.values()
            }
            self.inbound_stats[listener.name] = stats
            chain = Chain.of(upstream)
        else:
            stats = None
            table = RouteTable.compile(listener.virtual_hosts)
            entries = self._routes(listener, table, upstream, direction)
            pods = self._pod_addresses(listener, upstream) if listener.role == "outbound" else None
            chain = Chain.of(RouteLayer(table, entries, pods))
        return self._listener_layers(listener, chain, stats)

    def _pod_addresses(self, listener: config.Listener, upstream: UpstreamLayer) -> PodAddresses:
        """A sidecar's Pod IPs, each to its endpoint of the cluster that names it."""
        from meshproxy.layers.podip import PodAddresses
        from meshproxy.policy.destinations import pod_destinations

        stats: dict[str, RequestStats] = {}
        targets = {}
        for host, (name, index) in pod_destinations(self.cfg.clusters).items():
            cluster = self.clusters[name]
            if name not in stats:
                stats[name] = self.registry.request_stats(
                    listener=listener.name, direction="outbound", route="pod-ip", cluster=name
                )
            targets[host] = (name, cluster.targets[cluster.endpoints[index]], stats[name])
        return PodAddresses(upstream, targets)

    def connect_chain(self, listener: config.Listener) -> Handler | None:
        """The CONNECT chain of a sidecar's outbound listener (tunnels to the destinations its
        virtual hosts name) or of its inbound side without routes (tunnels to the app port the
        inbound layers chose); None elsewhere. Call after `listener_chain`."""
        if listener.role not in ("outbound", "inbound"):
            return None
        from meshproxy.layers.connect import ConnectLayer
        from meshproxy.policy.destinations import pod_destinations, tunnel_destinations

        if listener.role == "outbound":
            destinations = tunnel_destinations(listener.virtual_hosts, self.clusters)
            pods = pod_destinations(self.cfg.clusters)
            stats = {
                name: self.registry.request_stats(
                    listener=listener.name, direction="outbound", route="connect", cluster=name
                )
                for name in {*destinations.values(), *(name for name, _ in pods.values())}
            }
            layer = ConnectLayer(self.clusters, destinations, stats, TUNNEL_IDLE_TIMEOUT, pods)
            return self._listener_layers(listener, Chain.of(layer), None).handle
        inbound_stats = self.inbound_stats.get(listener.name)
        if listener.role == "inbound" and inbound_stats is not None:
            layer = ConnectLayer(self.clusters, None, {}, TUNNEL_IDLE_TIMEOUT)
            return self._listener_layers(listener, Chain.of(layer), inbound_stats).handle
        return None

    def _listener_layers(
        self, listener: config.Listener, chain: Chain, stats: dict[str, RequestStats] | None
    ) -> Chain:
        """The listener's own layers around `chain`, outermost last."""
        chain = self._rate_limit(chain, listener.rate_limits, principal_keys=True)
        if listener.authz:
            from meshproxy.layers.authz import AuthzLayer

            policies = [self.authz[name] for name in listener.authz]
            denied = self.registry.authz_denied.child(listener=listener.name)
            chain = chain.wrap(AuthzLayer(chain.handle, policies, self.cfg.node, denied))
        if listener.authn:
            chain = self._authn(chain, listener.authn)
        chain = self._rate_limit(chain, listener.rate_limits, principal_keys=False)
        if listener.inbound is not None:
            from meshproxy.layers.inbound import InboundLayer
            from meshproxy.peermodes import PeerModes

            modes = PeerModes.compile(listener.inbound, self.cfg.node.labels)
            refused = self.registry.peer_authn_refused.child(listener=listener.name)
            chain = chain.wrap(InboundLayer(chain.handle, modes, stats, refused))
        return chain.wrap(TracingLayer(chain.handle, self.cfg.observability.tracing))

    def _routes(
        self,
        listener: config.Listener,
        table: RouteTable,
        upstream: UpstreamLayer,
        direction: str,
    ) -> dict[int, RouteEntry]:
        entries: dict[int, RouteEntry] = {}
        for vhost in listener.virtual_hosts:
            for route_cfg in vhost.routes:
                route = CompiledRoute(route_cfg, vhost.name)
                entries[id(route_cfg)] = self._route_entry(listener, route, upstream, direction)
        return entries

    def _route_entry(
        self,
        listener: config.Listener,
        route: CompiledRoute,
        upstream: UpstreamLayer,
        direction: str,
    ) -> RouteEntry:
        forward = route.config.forward
        clusters = [c.cluster for c in forward.clusters] if forward else [""]
        stats: dict[str, RequestStats] = {
            name: self.registry.request_stats(
                listener=listener.name, direction=direction, route=route.name, cluster=name
            )
            for name in clusters
        }
        return RouteEntry(self._route_chain(route, upstream), stats)

    def _cookie_hash(self, forward: config.Forward) -> config.ConsistentHash | None:
        """The cookie consistent hash of the first backend that has one (a route's backends
        normally share a DestinationRule)."""
        names = {c.cluster for c in forward.clusters}
        for cluster in self.cfg.clusters:
            lb = cluster.load_balancer.consistent_hash
            if cluster.name in names and lb is not None and lb.cookie is not None:
                return lb
        return None

    def _route_chain(self, route: CompiledRoute, upstream: UpstreamLayer) -> Chain:
        cfg = route.config
        chain: Chain
        if cfg.forward is not None:
            forward = cfg.forward
            chain = Chain.of(upstream)
            if forward.retry is not None:
                from meshproxy.layers.retry import RetryLayer

                counter = self.registry.retries.child(route=route.name)
                chain = chain.wrap(RetryLayer(chain.handle, forward.retry, counter))
            if forward.timeout:
                from meshproxy.layers.timeout import TimeoutLayer

                chain = chain.wrap(TimeoutLayer(chain.handle, forward.timeout))
            chain = self._backend_headers(chain, forward)
            if forward.mirrors:
                from meshproxy.layers.mirror import MirrorLayer

                dropped = self.registry.mirrors_dropped.child(route=route.name)
                chain = chain.wrap(
                    MirrorLayer(chain.handle, forward.mirrors, upstream.handle, dropped)
                )
            sticky = self._cookie_hash(forward)
            if sticky is not None:
                from meshproxy.layers.sticky import StickyCookieLayer

                chain = chain.wrap(StickyCookieLayer(chain.handle, sticky))
        elif cfg.redirect is not None:
            from meshproxy.layers.local import RedirectLayer

            chain = Chain.of(RedirectLayer(route, cfg.redirect))
        else:
            from meshproxy.layers.local import DirectResponseLayer

            assert cfg.direct_response is not None
            chain = Chain.of(DirectResponseLayer(cfg.direct_response))
        if cfg.cache is not None:
            from meshproxy.layers.cache import CacheLayer

            chain = chain.wrap(CacheLayer(chain.handle, cfg.cache))
        if cfg.json_projection is not None:
            from meshproxy.layers.projection import ProjectionLayer

            chain = chain.wrap(ProjectionLayer(chain.handle, cfg.json_projection))
        if cfg.cors is not None:
            from meshproxy.layers.cors import CorsLayer

            chain = chain.wrap(CorsLayer(chain.handle, cfg.cors))
        from meshproxy.layers.transform import TransformLayer

        if TransformLayer.needed(route):
            chain = chain.wrap(TransformLayer(chain.handle, route))
        if cfg.fault is not None:
            from meshproxy.layers.fault import FaultLayer

            chain = chain.wrap(FaultLayer(chain.handle, cfg.fault))
        chain = self._rate_limit(chain, cfg.rate_limits, principal_keys=True)
        if cfg.authn:
            chain = self._authn(chain, cfg.authn)
        return self._rate_limit(chain, cfg.rate_limits, principal_keys=False)

    @staticmethod
    def _backend_headers(chain: Chain, forward: config.Forward) -> Chain:
        """The picked backend's own header modifiers, around retries (applied once) and inside
        mirrors (copies go without them) and the route's modifiers (the backend's come last)."""
        from meshproxy.layers.backend_headers import (
            BackendHeadersLayer,
            BackendRequestHeadersLayer,
            compile_backend_ops,
        )

        ops = compile_backend_ops(forward)
        if not ops:
            return chain
        if all(response is None for _, response in ops.values()):
            return chain.wrap(BackendRequestHeadersLayer(chain.handle, ops))
        return chain.wrap(BackendHeadersLayer(chain.handle, ops))

    def _authn(self, chain: Chain, names: list[str]) -> Chain:
        from meshproxy.edge.authenticator import Authenticator
        from meshproxy.layers.authn import AuthnLayer

        authenticator = Authenticator([self.authn[name] for name in names], self.edge)
        return chain.wrap(AuthnLayer(chain.handle, authenticator, self.authn_failures))

    def _rate_limit(self, chain: Chain, names: list[str], principal_keys: bool) -> Chain:
        if not names:
            return chain
        from meshproxy.edge.limits import compile_limit
        from meshproxy.edge.rate_key import PRINCIPAL_KEYS
        from meshproxy.layers.ratelimit import RateLimitLayer

        policies = [self.rate_limits[name] for name in names]
        chosen = [p for p in policies if (p.key.type in PRINCIPAL_KEYS) == principal_keys]
        if not chosen:
            return chain
        limits = [
            compile_limit(p, self.edge, self.registry.rate_limited.child(policy=p.name))
            for p in chosen
        ]
        return chain.wrap(RateLimitLayer(chain.handle, limits))


__all__ = ["Built", "ListenerStack", "Response", "build"]
