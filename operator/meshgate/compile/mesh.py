"""One meshed namespace to one sidecar proxy config. Pure.

Outbound (15001, loopback, the apps' HTTP proxy): a virtual host per Service port reachable by
every DNS form of the Service and its ClusterIP, with and without `:port` (the bare form goes to
port 80 when the Service has it, else to its lowest port). Its routes come from mesh Routes
(`spec.hosts`) or, when none govern the Service for this namespace, a single default route to
the Service's cluster.
Inbound (15006): the namespace's Services' target ports, PeerAuthentication modes and
AuthorizationPolicies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from meshgate.api.v1alpha1.authorization_policy import AuthorizationPolicySpec
from meshgate.api.v1alpha1.peer_authentication import PeerAuthenticationSpec
from meshgate.api.v1alpha1.route import RouteSpec
from meshproxy import config as pc

from .clusters import ClusterBook
from .gateways import _identity
from .index import SYSTEM_NAMESPACES, Index
from .mesh_routes import MeshRoutes
from .names import service_domains
from .notes import Notes
from .paths import INBOUND_PORT, OUTBOUND_PORT
from .peer_authn import _selector, peer_authn
from .retries import RetryBook, from_policy
from .rules import Entry, RouteTranslation
from .snapshot import Resource, Service, ServicePort
from .vhosts import Claims, clusters_used, ordered_routes

Translate = Callable[[Resource[RouteSpec], float | None], RouteTranslation]


@dataclass
class MeshUse:
    """What compiling one namespace's sidecar config found and used, beside the config."""

    notes: Notes = field(default_factory=Notes)
    claims: Claims = field(default_factory=Claims)
    translations: list[RouteTranslation] = field(default_factory=list)
    # RetryPolicy (namespace, name) -> the Services whose default routes carry it
    retry_uses: set[tuple[tuple[str, str], tuple[str, str, str]]] = field(default_factory=set)


def compile_namespace(
    namespace: str,
    index: Index,
    translate: Translate,
    clusters: ClusterBook,
    retries: RetryBook,
    routes: MeshRoutes,
    peer_authentications: tuple[Resource[PeerAuthenticationSpec], ...],
    authorization_policies: tuple[Resource[AuthorizationPolicySpec], ...],
    use: MeshUse,
) -> pc.ProxyConfig:
    """The namespace's sidecar config; what it found and used goes into `use`."""
    report, claims = use.notes, use.claims
    peer = peer_authn(namespace, index, peer_authentications, report)
    authz = authorization(namespace, index, authorization_policies)
    domain = index.snapshot.settings.cluster_domain
    vhosts: list[pc.VirtualHost] = []
    for service in index.snapshot.services:
        ns, name = service.meta.namespace, service.meta.name
        if ns in SYSTEM_NAMESPACES or not service.ports:
            continue
        default_port = _default_port(service)
        for port in service.ports:
            governing = routes.for_client(namespace, (ns, name), port.port)
            forms = service_domains(ns, name, domain, local=ns == namespace)
            if service.cluster_ip:
                forms = [*forms, service.cluster_ip]
            domains = [f"{d}:{port.port}" for d in forms]
            if port is default_port:
                domains = forms + domains
            if governing:
                entries: list[Entry] = []
                for r in governing:
                    translation = translate(r, None)
                    use.translations.append(translation)
                    for ref in translation.clusters:
                        clusters.ensure(ref)
                    entries.extend(translation.entries)
                vh_routes = ordered_routes(f"{name}.{ns}:{port.port}", entries, report, claims)
            else:
                vh_routes = [_default_route(service, port, clusters, retries, use)]
            vhosts.append(
                pc.VirtualHost(name=f"{ns}/{name}:{port.port}", domains=domains, routes=vh_routes)
            )
    outbound = pc.Listener(
        name="outbound", address="127.0.0.1", port=OUTBOUND_PORT, role="outbound",
        virtual_hosts=vhosts,
    )  # fmt: skip
    inbound = pc.Listener(
        name="inbound",
        port=INBOUND_PORT,
        role="inbound",
        inbound=pc.Inbound(allowed_ports=_inbound_ports(namespace, index), peer_authn=peer),
        authz=[a.name for a in authz],
    )
    used = clusters_used([outbound])
    return pc.ProxyConfig(
        node=pc.Node(role="sidecar", namespace=namespace),
        identity=_identity(index),
        listeners=[outbound, inbound],
        clusters=clusters.clusters(used),
        authz=authz,
    )


def _default_port(service: Service) -> ServicePort:
    return next((p for p in service.ports if p.port == 80), service.ports[0])


def _default_route(
    service: Service, port: ServicePort, clusters: ClusterBook, retries: RetryBook, use: MeshUse
) -> pc.Route:
    ns, name = service.meta.namespace, service.meta.name
    rp = retries.by_service.get((ns, name))
    retry = None
    if rp is not None and rp.spec is not None:
        use.retry_uses.add(((rp.meta.namespace, rp.meta.name), ("Service", ns, name)))
        retry = from_policy(rp.spec)
    return pc.Route(
        name=f"{ns}/{name}:{port.port}/default",
        source=f"{ns}/{name}",
        forward=pc.Forward(
            clusters=[pc.WeightedCluster(cluster=clusters.cluster(service, port))], retry=retry
        ),
    )


def _inbound_ports(namespace: str, index: Index) -> list[int]:
    ports: set[int] = set()
    for service in index.snapshot.services:
        if service.meta.namespace != namespace:
            continue
        for p in service.ports:
            if isinstance(p.target_port, int):
                ports.add(p.target_port)
                continue
            # A named targetPort: the EndpointSlice carries the number it resolved to.
            for sl in index.slices.get((namespace, service.meta.name), ()):
                ports.update(ep.port for ep in sl.ports if ep.name == p.name)
    return sorted(ports - pc.RESERVED_PORTS)


AP_KIND = "AuthorizationPolicy"


def authorization(
    namespace: str, index: Index, aps: tuple[Resource[AuthorizationPolicySpec], ...]
) -> list[pc.AuthzPolicy]:
    operator_ns = index.snapshot.settings.operator_namespace
    out = []
    for ap in aps:
        if ap.spec is None or ap.meta.namespace not in (namespace, operator_ns):
            continue
        spec = ap.spec
        out.append(
            pc.AuthzPolicy(
                name=ap.meta.key,
                selector=_selector(spec) or None,
                action=spec.action,
                rules=[
                    pc.AuthzRule(
                        from_=[
                            pc.AuthzSource(
                                principals=list(f.source.principals or []),
                                not_principals=list(f.source.not_principals or []),
                                namespaces=list(f.source.namespaces or []),
                                not_namespaces=list(f.source.not_namespaces or []),
                            )
                            for f in r.from_ or []
                        ],
                        to=[
                            pc.AuthzOperation(
                                methods=list(t.operation.methods or []),
                                not_methods=list(t.operation.not_methods or []),
                                paths=list(t.operation.paths or []),
                                not_paths=list(t.operation.not_paths or []),
                                ports=[int(p) for p in t.operation.ports or []],
                                not_ports=[int(p) for p in t.operation.not_ports or []],
                                hosts=list(t.operation.hosts or []),
                                not_hosts=list(t.operation.not_hosts or []),
                            )
                            for t in r.to or []
                        ],
                        when=[
                            pc.AuthzCondition(
                                key=w.key,
                                values=list(w.values or []),
                                not_values=list(w.not_values or []),
                            )
                            for w in r.when or []
                        ],
                    )
                    for r in spec.rules or []
                ],
            )
        )
    return sorted(out, key=lambda a: a.name)
