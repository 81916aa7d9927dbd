"""Upstream clusters: a Service port (optionally one DestinationRule subset) with its endpoints
and client-side traffic policy.

Endpoints come from EndpointSlices, ready addresses only, with the port resolved by the Service
port's name. Subset endpoints are the ready endpoints whose Pod (the endpoint's `targetRef`) has
every subset label; an endpoint whose Pod the snapshot does not hold is left out of every subset,
never guessed into one. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from meshgate.api.v1alpha1.destination_rule import (
    ClientTLSSettings,
    ConnectionPoolSettings,
    DestinationRuleSpec,
    LoadBalancerSettings,
    OutlierDetection,
    TrafficPolicy,
)
from meshproxy import config as pc

from .durations import seconds
from .index import Index
from .names import ClusterRef, cluster_name
from .notes import Notes
from .paths import listener_cert_dir
from .peer_authn import peer_authn, sends_plaintext
from .report import q
from .snapshot import Resource, Service, ServicePort

KIND = "DestinationRule"


@dataclass(frozen=True)
class Policy:
    """The effective traffic policy pieces for one cluster (most specific wins, whole pieces)."""

    load_balancer: LoadBalancerSettings | None = None
    connection_pool: ConnectionPoolSettings | None = None
    outlier_detection: OutlierDetection | None = None
    tls: ClientTLSSettings | None = None

    def over(self, tp: TrafficPolicy | None, port: int) -> Policy:
        if tp is None:
            return self
        merged = Policy(
            tp.load_balancer or self.load_balancer,
            tp.connection_pool or self.connection_pool,
            tp.outlier_detection or self.outlier_detection,
            tp.tls or self.tls,
        )
        for pl in tp.port_level_settings or []:
            if pl.port.number == port:
                merged = Policy(
                    pl.load_balancer or merged.load_balancer,
                    pl.connection_pool or merged.connection_pool,
                    pl.outlier_detection or merged.outlier_detection,
                    pl.tls or merged.tls,
                )
        return merged


@dataclass
class ClusterBook:
    """Builds clusters on demand, so each config carries only the clusters its routes use."""

    index: Index
    notes: Notes
    rules: dict[tuple[str, str], Resource[DestinationRuleSpec]] = field(default_factory=dict)
    _built: dict[str, pc.Cluster] = field(default_factory=dict)
    # cluster name -> `<namespace>/<secret>` of the client credential a SIMPLE/MUTUAL cluster reads
    secrets: dict[str, str] = field(default_factory=dict)
    # namespace -> its PeerAuthentication entries, as its sidecars resolve them
    _peer_entries: dict[str, list[pc.PeerAuthn]] = field(default_factory=dict)
    built_here: int = 0  # clusters this book built (not taken from a kept one)

    @classmethod
    def build(cls, index: Index, kept: ClusterBook | None = None) -> ClusterBook:
        """The book, with what it found about DestinationRules in `notes`. `kept`: the book of
        an earlier compile whose every input (Services, EndpointSlices, Pods, DestinationRules,
        PeerAuthentications, Namespaces, settings) is unchanged here: its clusters are still
        right, so they are taken instead of built again. Copied, never shared: a status pass
        may still be building into the earlier book in another thread."""
        book = cls(index=index, notes=Notes())
        book._attach_destination_rules()
        if kept is not None:
            book._built = dict(kept._built)
            book.secrets = dict(kept.secrets)
            book._peer_entries = dict(kept._peer_entries)
        return book

    def _attach_destination_rules(self) -> None:
        """Each Service gets at most one DestinationRule: its own namespace's, else the operator
        namespace's; among equals the oldest wins and the others say which one beat them."""
        operator_ns = self.index.snapshot.settings.operator_namespace
        candidates: dict[tuple[str, str], list[Resource[DestinationRuleSpec]]] = {}
        for dr in self.index.snapshot.destination_rules:
            self.notes.track(KIND, dr.meta)
            if dr.spec is None:
                self.notes.set(KIND, dr.meta, "Accepted", "False", "Invalid", dr.error or "")
                continue
            target = self.index.resolve_host(dr.spec.host, dr.meta.namespace)
            if target is None:
                self.notes.set(KIND, dr.meta, "Accepted", "True", "Accepted", "spec is valid")
                self.notes.set(
                    KIND,
                    dr.meta,
                    "ResolvedRefs",
                    "False",
                    "BackendNotFound",
                    f"host {q(dr.spec.host)} is not a Service seen from namespace "
                    f"{q(dr.meta.namespace)}",
                )
                continue
            same_ns = dr.meta.namespace == target[0]
            if not same_ns and dr.meta.namespace != operator_ns:
                self.notes.set(
                    KIND,
                    dr.meta,
                    "Accepted",
                    "False",
                    "NotAllowed",
                    f"a DestinationRule for {target[1]}.{target[0]} must live in namespace "
                    f"{q(target[0])} (or the mesh-wide {q(operator_ns)})",
                )
                continue
            candidates.setdefault(target, []).append(dr)
        for target, drs in candidates.items():
            drs.sort(key=lambda r: (r.meta.namespace != target[0], r.meta.age_key))
            winner = drs[0]
            self.rules[target] = winner
            for dr in drs:
                self.notes.set(KIND, dr.meta, "ResolvedRefs", "True", "ResolvedRefs", "host found")
                if dr is winner:
                    self._check_subsets(dr, target)
                    self.notes.set(KIND, dr.meta, "Accepted", "True", "Accepted", "in effect")
                    self.notes.field(
                        KIND, dr.meta, "attachedTo",
                        [{"group": "", "kind": "Service", "namespace": target[0],
                          "name": target[1]}],
                    )  # fmt: skip
                else:
                    self.notes.set(
                        KIND,
                        dr.meta,
                        "Accepted",
                        "False",
                        "Conflicted",
                        f"DestinationRule {winner.meta.key} also configures "
                        f"{target[1]}.{target[0]} and wins (older, or in the Service's namespace)",
                    )

    def _check_subsets(self, dr: Resource[DestinationRuleSpec], target: tuple[str, str]) -> None:
        assert dr.spec is not None
        for subset in dr.spec.subsets or []:
            picked = self._subset_pods(target, subset.labels)
            if not picked:
                self.notes.set(
                    KIND,
                    dr.meta,
                    "Ready",
                    "False",
                    "NoMatchingEndpoints",
                    f"subset {q(subset.name)} (labels {dict(sorted(subset.labels.items()))}) "
                    "matches no ready endpoint",
                )
        self.notes.default(KIND, dr.meta, "Ready", "True", "Ready", "every subset has endpoints")

    def _subset_pods(self, target: tuple[str, str], labels: dict[str, str]) -> set[str]:
        found: set[str] = set()
        for sl in self.index.slices.get(target, ()):
            for ep in sl.endpoints:
                if ep.ready and ep.pod and self._pod_matches(target[0], ep.pod, labels):
                    found.add(ep.pod)
        return found

    def _pod_matches(self, namespace: str, pod: str, labels: dict[str, str]) -> bool:
        p = self.index.pods.get((namespace, pod))
        return p is not None and all(p.meta.labels.get(k) == v for k, v in labels.items())

    def rule_for(self, namespace: str, service: str) -> Resource[DestinationRuleSpec] | None:
        return self.rules.get((namespace, service))

    def has_subset(self, namespace: str, service: str, subset: str) -> bool:
        dr = self.rules.get((namespace, service))
        return (
            dr is not None
            and dr.spec is not None
            and any(s.name == subset for s in dr.spec.subsets or [])
        )

    def cluster(self, service: Service, port: ServicePort, subset: str | None = None) -> str:
        """The cluster name for this Service port (and subset), building it on first use."""
        ns, svc = service.meta.namespace, service.meta.name
        name = cluster_name(ns, svc, port.port, subset)
        if name in self._built:
            return name
        dr = self.rules.get((ns, svc))
        self.built_here += 1
        policy = Policy()
        labels: dict[str, str] | None = None
        if dr is not None and dr.spec is not None:
            policy = policy.over(dr.spec.traffic_policy, port.port)
            for s in dr.spec.subsets or []:
                if s.name == subset:
                    policy = policy.over(s.traffic_policy, port.port)
                    labels = dict(s.labels)
        self._built[name] = pc.Cluster(
            name=name,
            endpoints=self._endpoints(service, port, labels),
            load_balancer=_load_balancer(policy.load_balancer),
            connection_pool=_connection_pool(policy.connection_pool),
            outlier_detection=_outlier(policy.outlier_detection),
            tls=self._tls(policy.tls, ns, name, service, port),
            protocol=upstream_protocol(port),
        )
        return name

    def _endpoints(
        self, service: Service, port: ServicePort, labels: dict[str, str] | None
    ) -> list[pc.Endpoint]:
        ns = service.meta.namespace
        seen: set[tuple[str, int]] = set()
        for sl in self.index.slices.get((ns, service.meta.name), ()):
            number = next((p.port for p in sl.ports if p.name == port.name), None)
            if number is None:
                continue
            for ep in sl.endpoints:
                if not ep.ready:
                    continue
                if labels is not None and not (ep.pod and self._pod_matches(ns, ep.pod, labels)):
                    continue
                seen.add((ep.address, number))
        return [pc.Endpoint(address=a, port=p) for a, p in sorted(seen)]

    def _plaintext_only(self, service: Service, port: ServicePort) -> bool:
        ns = service.meta.namespace
        entries = self._peer_entries.get(ns)
        if entries is None:
            pas = self.index.snapshot.peer_authentications
            entries = self._peer_entries[ns] = peer_authn(ns, self.index, pas, None)
        endpoints: list[tuple[Mapping[str, str], int]] = []
        for sl in self.index.slices.get((ns, service.meta.name), ()):
            number = next((p.port for p in sl.ports if p.name == port.name), None)
            if number is None:
                continue
            for ep in sl.endpoints:
                pod = self.index.pods.get((ns, ep.pod)) if ep.ready and ep.pod else None
                if pod is not None:
                    endpoints.append((pod.meta.labels, number))
        return sends_plaintext(entries, endpoints)

    def ensure(self, ref: ClusterRef) -> pc.Cluster | None:
        """The cluster a kept translation names, built now if this compile has not yet; None
        when its Service or port is gone (the translation is then stale anyway)."""
        built = self._built.get(ref.name)
        if built is not None:
            return built
        service = self.index.services.get((ref.namespace, ref.service))
        port = next((p for p in service.ports if p.port == ref.port), None) if service else None
        if service is None or port is None:
            return None
        return self._built[self.cluster(service, port, ref.subset)]

    def ready_endpoints(self, ref: ClusterRef) -> int:
        built = self.ensure(ref)
        return len(built.endpoints) if built else 0

    def _tls(
        self,
        tls: ClientTLSSettings | None,
        namespace: str,
        cluster: str,
        service: Service,
        port: ServicePort,
    ) -> pc.UpstreamTLS:
        if tls is None:
            # Auto mTLS: a meshed destination has a sidecar listening on 15006, unless its
            # PeerAuthentication is DISABLE there, which takes plaintext only (to the app port).
            meshed = self.index.meshed(namespace) and not self._plaintext_only(service, port)
            mode: Literal["MESH", "DISABLE"] = "MESH" if meshed else "DISABLE"
            return pc.UpstreamTLS(mode=mode)
        if tls.mode in ("MESH_MUTUAL", "ISTIO_MUTUAL"):
            return pc.UpstreamTLS(
                mode="MESH", expected_identities=list(tls.subject_alt_names or [])
            )
        if tls.mode == "DISABLE":
            return pc.UpstreamTLS(mode="DISABLE")
        files: dict[str, str] = {}
        if tls.credential_name:
            self.secrets[cluster] = f"{namespace}/{tls.credential_name}"
            base = listener_cert_dir(tls.credential_name)
            files = {"ca_file": f"{base}/ca.crt"}
            if tls.mode == "MUTUAL":
                files |= {"cert_file": f"{base}/tls.crt", "key_file": f"{base}/tls.key"}
        return pc.UpstreamTLS(
            mode="MUTUAL" if tls.mode == "MUTUAL" else "SIMPLE",
            sni=tls.sni,
            expected_identities=list(tls.subject_alt_names or []),
            **files,
        )

    def clusters(self, names: set[str]) -> list[pc.Cluster]:
        return [self._built[n] for n in sorted(names)]


def _load_balancer(lb: LoadBalancerSettings | None) -> pc.LoadBalancer:
    if lb is None:
        return pc.LoadBalancer()
    if lb.consistent_hash is not None:
        ch = lb.consistent_hash
        return pc.LoadBalancer(
            policy="CONSISTENT_HASH",
            consistent_hash=pc.ConsistentHash(
                header=ch.http_header_name,
                cookie=ch.http_cookie.name if ch.http_cookie else None,
                cookie_path=ch.http_cookie.path if ch.http_cookie else None,
                cookie_ttl=seconds(ch.http_cookie.ttl) if ch.http_cookie else 0.0,
                source_ip=bool(ch.use_source_ip),
            ),
        )
    if lb.simple in ("LEAST_REQUEST", "RANDOM"):
        return pc.LoadBalancer(policy=lb.simple)
    return pc.LoadBalancer()


# What a Service port says about the protocol behind it, as users write it for Istio and the
# Gateway API: `appProtocol` first, then the port name's prefix.
_HTTP2_APP_PROTOCOLS = frozenset({"kubernetes.io/h2c", "grpc", "http2", "h2c"})
_HTTP2_NAME_PREFIXES = ("grpc", "http2", "h2c")


def upstream_protocol(port: ServicePort) -> Literal["HTTP1", "HTTP2"]:
    """HTTP2 for a port that says it serves HTTP/2 (h2c) or gRPC, else HTTP1."""
    app = port.app_protocol.lower()
    if app:
        return "HTTP2" if app in _HTTP2_APP_PROTOCOLS else "HTTP1"
    name = port.name.lower()
    if any(name == p or name.startswith(p + "-") for p in _HTTP2_NAME_PREFIXES):
        return "HTTP2"
    return "HTTP1"


def _connection_pool(cp: ConnectionPoolSettings | None) -> pc.ConnectionPool:
    out: dict[str, Any] = {}
    if cp is not None and cp.tcp is not None:
        if cp.tcp.max_connections is not None:
            out["max_connections"] = cp.tcp.max_connections
        if cp.tcp.connect_timeout is not None:
            out["connect_timeout"] = seconds(cp.tcp.connect_timeout)
    if cp is not None and cp.http is not None:
        h = cp.http
        if h.http1_max_pending_requests is not None:
            out["max_pending_requests"] = h.http1_max_pending_requests
        if h.http2_max_requests is not None:
            out["http2_max_requests"] = h.http2_max_requests  # streams, for HTTP/2 clusters
        if h.max_requests_per_connection is not None:
            out["max_requests_per_connection"] = h.max_requests_per_connection
        if h.idle_timeout is not None:
            out["idle_timeout"] = seconds(h.idle_timeout)
    return pc.ConnectionPool(**out)


def _outlier(od: OutlierDetection | None) -> pc.OutlierDetection | None:
    if od is None:
        return None
    out: dict[str, Any] = {
        "interval": seconds(od.interval),
        "base_ejection_time": seconds(od.base_ejection_time),
        "max_ejection_percent": od.max_ejection_percent,
    }
    if od.consecutive_5xx_errors is not None:
        out["consecutive_5xx_errors"] = od.consecutive_5xx_errors
    if od.consecutive_gateway_errors is not None:
        out["consecutive_gateway_errors"] = od.consecutive_gateway_errors
    return pc.OutlierDetection(**out)
