"""One Gateway to one edge proxy config: listeners by port, virtual hosts by hostname. Pure.

Listeners that share a port become one proxy listener (the proxy binds each port once) whose
virtual hosts are the union of theirs. An HTTPS port serves each listener's certificate to the
clients whose SNI names that listener's hostname (`ServerTLS.sniCertificates`); handshakes that
name none of them get the default certificate: the listener without a hostname, else the first
by name. A second HTTPS listener without a hostname on one port is `Accepted=False,
reason=HostnameConflict`: two certificates would claim every name.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import msgspec

from meshgate.api.v1alpha1.gateway import GatewaySpec, Listener
from meshgate.api.v1alpha1.route import RouteSpec
from meshproxy import config as pc
from meshproxy.config.proxy import reference_problems

from .attach import Attachment
from .catalog_page import with_catalog
from .clusters import ClusterBook
from .connection_limits import port_limits
from .durations import seconds
from .edge import EdgeBook, GatewayEdge
from .index import Index
from .isolation import claimed_hostnames, owned_by_a_more_specific_listener
from .names import ClusterRef
from .notes import NoteLog, Notes
from .passthrough import PROTOCOLS as PASSTHROUGH
from .passthrough import compile_port
from .paths import IDENTITY_DIR, listener_cert_dir
from .report import q
from .rules import Applied, Entry, RouteTranslation
from .snapshot import Resource
from .vhosts import Claims, clusters_named, ordered_routes

KIND = "Gateway"


@dataclass(frozen=True)
class GatewayPlan:
    """What rendering needs beside the config: Secrets to mount and ports to expose."""

    config: pc.ProxyConfig
    tls_secrets: tuple[str, ...]
    ports: tuple[tuple[str, int], ...]  # (listener name, port)
    edge_files: tuple[tuple[str, str], ...] = ()
    memo: GatewayMemo | None = None  # what the next compile of this Gateway may reuse
    hosts_built: int = 0  # virtual hosts built again (not reused from the memo)


@dataclass(frozen=True)
class Contribution:
    """What one attached Route gives one listener's virtual hosts: its translation's entries
    per hostname, in the order they are gathered. Kept only for a Route and Gateway that no edge
    policy targets: then the entries are the translation's own, untouched by `_with_edge`."""

    attachment: Attachment
    translation: RouteTranslation
    hostnames: tuple[str | None, ...]  # the listener group's hostnames (isolation reads them)
    items: tuple[tuple[str, Entry], ...]


@dataclass(frozen=True)
class HostBuild:
    """One virtual host built from its entries, with what building it found: reused while the
    very same entries come in the same order."""

    entries: tuple[Entry, ...]
    vhost: pc.VirtualHost
    notes: NoteLog
    claims: Claims
    used: frozenset[str]  # clusters its routes name


@dataclass(frozen=True)
class GatewayMemo:
    """What a compile of one Gateway keeps for the next: a one-Route change then rebuilds that
    Route's contribution and its hosts' virtual hosts only. Every reuse is checked against the
    inputs by identity, so a memo is never wrong, only useless."""

    contributions: dict[tuple[str, str], Contribution] = field(default_factory=dict)
    hosts: dict[tuple[int, str], HostBuild] = field(default_factory=dict)
    # (port, host) -> a virtual host whose references were found defined, and the names then
    checked: dict[tuple[int, str], tuple[pc.VirtualHost, Names]] = field(default_factory=dict)


# The names a config defines: clusters, authn, authz and rate-limit policies.
Names = tuple[frozenset[str], ...]


def _give_listeners(
    config: pc.ProxyConfig,
    listeners: list[pc.Listener],
    kept: dict[tuple[int, str], tuple[pc.VirtualHost, Names]],
    checked: dict[tuple[int, str], tuple[pc.VirtualHost, Names]],
) -> None:
    """Set the new config's listeners, raising what `ProxyConfig` raises for a name used and
    not defined. A virtual host found clean before, the very same object against the same
    defined names, is clean again: only the others are walked (walking every route of every
    virtual host was 12-15% of a one-Route change's compile at 10,000 Routes)."""
    names: Names = (
        frozenset(c.name for c in config.clusters),
        frozenset(a.name for a in config.authn),
        frozenset(a.name for a in config.authz),
        frozenset(r.name for r in config.rate_limits),
    )
    unverified = []
    for listener in listeners:
        hosts = []
        for vhost in listener.virtual_hosts:
            seen = kept.get((listener.port, vhost.name))
            if seen is not None and seen[0] is vhost and seen[1] == names:
                checked[(listener.port, vhost.name)] = seen
            else:
                hosts.append(vhost)
        unverified.append(msgspec.structs.replace(listener, virtual_hosts=hosts))
    probe = copy.copy(config)
    msgspec.structs.force_setattr(probe, "listeners", unverified)
    if reference_problems(probe):  # then the whole config has problems: say all of them
        msgspec.structs.force_setattr(probe, "listeners", listeners)
        raise ValueError("; ".join(reference_problems(probe)))
    for listener in unverified:
        for vhost in listener.virtual_hosts:
            checked[(listener.port, vhost.name)] = (vhost, names)
    msgspec.structs.force_setattr(config, "listeners", listeners)


Translate = Callable[[Resource[RouteSpec], float | None], RouteTranslation]


@dataclass
class GatewayUse:
    """What compiling one Gateway found and used, beside its config: for the status pass, and
    for deciding whether the next compile must do it again."""

    notes: Notes = field(default_factory=Notes)
    claims: Claims = field(default_factory=Claims)
    edge: GatewayEdge = field(default_factory=GatewayEdge)
    # route (namespace, name) -> the edge policies in effect on its proxy routes here
    applied: dict[tuple[str, str], set[Applied]] = field(default_factory=dict)
    translations: list[RouteTranslation] = field(default_factory=list)
    clusters: dict[ClusterRef, pc.Cluster | None] = field(default_factory=dict)


def compile_gateway(
    gw: Resource[GatewaySpec],
    attachments: list[Attachment],
    index: Index,
    translate: Translate,
    clusters: ClusterBook,
    edge: EdgeBook,
    use: GatewayUse,
    kept: GatewayMemo | None = None,
) -> GatewayPlan:
    """The gateway's config; what it found and used goes into `use`. `kept`: the memo of an
    earlier compile of this Gateway, reused wherever its inputs are the very same."""
    assert gw.spec is not None
    kept = kept or GatewayMemo()
    memo = GatewayMemo()
    # No edge policy names this Gateway: a Route no policy names keeps its entries as they are.
    gateway_free = not edge.by_target.get(("Gateway", gw.meta.namespace, gw.meta.name))
    routes_targeted = any(kind == "Route" for kind, _, _ in edge.by_target)
    http_used: set[str] = set()
    hosts_built = 0
    report, claims, gw_edge = use.notes, use.claims, use.edge
    spec = gw.spec
    defaults = spec.defaults
    timeout = seconds(defaults.request_timeout) if defaults and defaults.request_timeout else None
    by_listener: dict[str, list[Attachment]] = defaultdict(list)
    for a in attachments:
        by_listener[a.listener.name].append(a)

    by_port: dict[int, list[Listener]] = defaultdict(list)
    for listener in sorted(spec.listeners, key=lambda item: item.name):
        by_port[listener.port].append(listener)

    statuses: dict[str, dict[str, object]] = {}
    proxy_listeners: list[pc.Listener] = []
    passthrough_clusters: list[pc.Cluster] = []  # TCP/TLS listeners' own (`passthrough.py`)
    secrets: set[str] = set()
    for port in sorted(by_port):
        group = by_port[port]
        authn, rate_limits = edge.listener_level(gw, [ln.name for ln in group], gw_edge)
        entries: dict[str, list[Entry]] = defaultdict(list)
        conditions = {ln.name: _listener_conditions(gw, ln, index) for ln in group}
        tls = _port_tls(port, group, conditions, secrets)
        passthrough = group[0].protocol in PASSTHROUGH
        hostnames = [ln.hostname for ln in group]
        for listener in group:
            conds = conditions[listener.name]
            attached = by_listener.get(listener.name, [])
            if not passthrough and conds[0]["status"] == "True" and conds[1]["status"] == "True":
                group_hosts = tuple(hostnames)
                # Locals: this loop runs once per attached Route (10,000 on one Gateway).
                used_translations, used_clusters = use.translations, use.clusters
                kept_contributions, contributions = kept.contributions, memo.contributions
                name = listener.name
                for a in attached:
                    translation = translate(a.route, timeout)
                    used_translations.append(translation)
                    for ref in translation.clusters:
                        if ref not in used_clusters:
                            used_clusters[ref] = clusters.ensure(ref)
                    meta = a.route.meta
                    free = gateway_free and not (
                        routes_targeted and edge.by_target.get(("Route", meta.namespace, meta.name))
                    )
                    ckey = (name, meta.key)
                    c = kept_contributions.get(ckey) if free else None
                    if c is None or not _holds(c, a, translation, group_hosts):
                        items = []
                        for host in a.hostnames:
                            if owned_by_a_more_specific_listener(
                                host, listener.hostname, hostnames
                            ):
                                continue
                            for entry in translation.entries:
                                items.append(
                                    (host, _with_edge(entry, gw, listener.name, authn, edge, use))
                                )
                        c = Contribution(a, translation, group_hosts, tuple(items))
                    if free:
                        contributions[ckey] = c
                    for host, entry in c.items:
                        entries[host].append(entry)
            statuses[listener.name] = {
                "name": listener.name,
                "attachedRoutes": len({a.route.meta.key for a in attached}),
                "conditions": conds,
            }
        if passthrough:

            def translate_used(route: Resource[RouteSpec]) -> RouteTranslation:
                # Recorded like the HTTP listeners' translations: the next compile keeps this
                # Gateway only while they are still valid (a Service created, deleted, edited).
                translation = translate(route, None)
                use.translations.append(translation)
                return translation

            served = compile_port(
                gw, port, group, by_listener, translate_used, clusters, report, use.clusters, claims
            )
            if served.listener is not None:
                proxy_listeners.append(served.listener)
                passthrough_clusters += served.clusters
            continue
        if any(listener.protocol == "HTTPS" for listener in group) and tls is None:
            continue  # an HTTPS port without a usable certificate is not served at all
        vhosts = []
        for host in claimed_hostnames(group):
            entries.setdefault(host, [])  # isolation: never a less specific listener's host
        for host in sorted(entries):
            built = kept.hosts.get((port, host))
            if built is None or not _same_entries(built.entries, entries[host]):
                built = _build_host(port, host, entries[host])
                hosts_built += 1
            memo.hosts[(port, host)] = built
            report.extend(built.notes)
            claims.merge(built.claims)
            http_used |= built.used
            vhosts.append(built.vhost)
        proxy_listeners.append(
            pc.Listener(
                name="+".join(listener.name for listener in group),
                port=port,
                role="edge",
                tls=tls,
                virtual_hosts=vhosts,
                authn=authn,
                rate_limits=rate_limits,
                connection_limits=port_limits(group),
            )
        )

    limits = pc.Limits()
    if defaults is not None:
        limits = pc.Limits(max_request_body_bytes=defaults.max_request_body_bytes)
    used = http_used  # what the virtual hosts name (passthrough listeners bring their own)
    config = pc.ProxyConfig(
        node=pc.Node(role="gateway", name=gw.meta.name, namespace=gw.meta.namespace),
        identity=_identity(index)
        if any(c.tls.mode == "MESH" for c in clusters.clusters(used))
        else None,
        listeners=[],  # given below, once their references are checked
        clusters=clusters.clusters(used) + passthrough_clusters,
        authn=[gw_edge.authn[n] for n in sorted(gw_edge.authn)],
        rate_limits=[gw_edge.rate_limits[n] for n in sorted(gw_edge.rate_limits)],
        limits=limits,
    )
    _give_listeners(config, proxy_listeners, kept.checked, memo.checked)
    if spec.catalog is not None:
        config = with_catalog(config, gw, index)
    report.field(KIND, gw.meta, "listeners", [statuses[n] for n in sorted(statuses)])
    runtime = index.snapshot.gateway_runtime.get(gw.meta.key)
    if runtime is not None:
        addresses = [{"type": t, "value": v} for t, v in runtime.addresses]
        report.field(KIND, gw.meta, "addresses", addresses)
    ready = runtime.ready_replicas if runtime else 0
    summary = {
        "ready": f"{ready}/{spec.replicas}",
        "routes": len({a.route.meta.key for a in attachments}),
    }
    report.field(KIND, gw.meta, "summary", summary)
    bad = [s for s in statuses.values() if _any_false(s)]
    if bad:
        names = ", ".join(str(s["name"]) for s in bad)
        report.set(
            KIND, gw.meta, "Accepted", "True", "ListenersNotValid",
            f"listeners not served: {names}; see status.listeners",
        )  # fmt: skip
    else:
        report.set(KIND, gw.meta, "Accepted", "True", "Accepted", "all listeners are valid")
    if ready >= spec.replicas:
        report.set(
            KIND, gw.meta, "Ready", "True", "Ready", f"{ready}/{spec.replicas} proxies ready"
        )
    else:
        report.set(
            KIND, gw.meta, "Ready", "False", "ReplicasNotReady",
            f"{ready}/{spec.replicas} proxies ready",
        )  # fmt: skip
    return GatewayPlan(
        config=config,
        tls_secrets=tuple(sorted(secrets | _mutual_secrets(clusters, gw.meta.namespace, used))),
        # Every port the spec names, served or not: the Service stays stable while a
        # certificate is missing, and the proxy opens the port once it can.
        ports=tuple((by_port[p][0].name, p) for p in sorted(by_port)),
        edge_files=tuple(sorted(gw_edge.files.items())),
        memo=memo,
        hosts_built=hosts_built,
    )


def _holds(
    c: Contribution,
    attachment: Attachment,
    translation: RouteTranslation,
    group_hosts: tuple[str | None, ...],
) -> bool:
    """Whether gathering the attachment's entries now would give the kept contribution."""
    kept = c.attachment
    return (
        c.translation is translation
        and kept.route is attachment.route
        and kept.listener is attachment.listener
        and kept.hostnames == attachment.hostnames
        and c.hostnames == group_hosts
    )


def _same_entries(kept: tuple[Entry, ...], now: list[Entry]) -> bool:
    return len(kept) == len(now) and all(a is b for a, b in zip(kept, now, strict=True))


def _build_host(port: int, host: str, entries: list[Entry]) -> HostBuild:
    notes, claims = Notes(), Claims()
    routes = ordered_routes(host, entries, notes, claims)
    domains = [host] if host == "*" else [host, f"{host}:{port}"]
    vhost = pc.VirtualHost(name=host, domains=domains, routes=routes)
    return HostBuild(
        entries=tuple(entries),
        vhost=vhost,
        notes=notes.freeze(),
        claims=claims,
        used=frozenset(clusters_named(routes)),
    )


def _with_edge(
    entry: Entry,
    gw: Resource[GatewaySpec],
    listener: str,
    listener_authn: list[str],
    edge: EdgeBook,
    use: GatewayUse,
) -> Entry:
    """The entry with the route-level edge policies of its Route (and rule) attached, and the
    API key headers of every policy in effect on it removed before the request goes upstream."""
    authn, limits, applied = edge.route_level(gw, listener, entry.owner, entry.rule, use.edge)
    if applied:
        key = (entry.owner.meta.namespace, entry.owner.meta.name)
        use.applied.setdefault(key, set()).update(applied)
    strip = edge.stripped_headers([*listener_authn, *authn])
    if not authn and not limits and not strip:
        return entry
    update: dict[str, object] = {"authn": authn, "rate_limits": limits}
    if strip:
        # The proxy applies a route's request header changes after its authentication.
        headers = entry.route.request_headers or pc.HeaderModifier()
        remove = sorted({*headers.remove, *strip})
        update["request_headers"] = msgspec.structs.replace(headers, remove=remove)
    return replace(entry, route=msgspec.structs.replace(entry.route, **update))


def _mutual_secrets(clusters: ClusterBook, namespace: str, used: set[str]) -> set[str]:
    """Client credentials of SIMPLE/MUTUAL clusters that this gateway's own namespace holds."""
    out = set()
    for cluster in used:
        ns, _, name = clusters.secrets.get(cluster, "/").partition("/")
        if name and ns == namespace:
            out.add(name)
    return out


def _identity(index: Index) -> pc.Identity:
    return pc.Identity(
        cert_file=f"{IDENTITY_DIR}/tls.crt",
        key_file=f"{IDENTITY_DIR}/tls.key",
        ca_file=f"{IDENTITY_DIR}/ca.crt",
        trust_domain=index.snapshot.settings.trust_domain,
    )


def _cond(type_: str, status: str, reason: str, message: str) -> dict[str, object]:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def _any_false(status: dict[str, object]) -> bool:
    conds = status["conditions"]
    assert isinstance(conds, list)
    return any(c["status"] != "True" for c in conds)


def _listener_conditions(
    gw: Resource[GatewaySpec], listener: Listener, index: Index
) -> list[dict[str, object]]:
    accepted = _cond("Accepted", "True", "Accepted", "listener is valid")
    resolved = _cond("ResolvedRefs", "True", "ResolvedRefs", "references resolved")
    if listener.tls is not None:
        for ref in listener.tls.certificate_refs or ():
            ns = ref.namespace or gw.meta.namespace
            if ns != gw.meta.namespace:
                resolved = _cond(
                    "ResolvedRefs",
                    "False",
                    "RefNotPermitted",
                    f"secret {q(ref.name)} is in namespace {q(ns)}; a gateway can only mount "
                    f"Secrets of its own namespace {q(gw.meta.namespace)}",
                )
                break
            secret = index.secrets.get((ns, ref.name))
            if secret is None:
                resolved = _cond(
                    "ResolvedRefs",
                    "False",
                    "SecretNotFound",
                    f"secret {q(ref.name)} not found in namespace {q(ns)}",
                )
                break
            if not {"tls.crt", "tls.key"} <= secret.keys:
                resolved = _cond(
                    "ResolvedRefs",
                    "False",
                    "InvalidCertificateRef",
                    f"secret {q(ref.name)} in namespace {q(ns)} has no tls.crt and tls.key "
                    f"(type {secret.type})",
                )
                break
    return [accepted, resolved]


def _port_tls(
    port: int,
    group: list[Listener],
    conditions: dict[str, list[dict[str, object]]],
    secrets: set[str],
) -> pc.ServerTLS | None:
    """The port's certificates: a default and one per other HTTPS listener's hostname."""
    usable = [
        ln for ln in group if ln.protocol == "HTTPS" and conditions[ln.name][1]["status"] == "True"
    ]
    if not usable:
        return None
    default = next((ln for ln in usable if not ln.hostname), usable[0])
    by_sni: list[pc.SniCertificate] = []
    for listener in usable:
        if listener is default:
            continue
        if not listener.hostname:
            conditions[listener.name][0] = _cond(
                "Accepted",
                "False",
                "HostnameConflict",
                f"port {port} already has HTTPS listener {default.name} without a hostname; "
                "give this listener a hostname so clients can choose its certificate by SNI",
            )
            continue
        cert, key = _cert_files(listener, secrets)
        by_sni.append(
            pc.SniCertificate(hostnames=[listener.hostname], cert_file=cert, key_file=key)
        )
    cert, key = _cert_files(default, secrets)
    return pc.ServerTLS(cert_file=cert, key_file=key, sni_certificates=by_sni)


def _cert_files(listener: Listener, secrets: set[str]) -> tuple[str, str]:
    assert listener.tls is not None
    assert listener.tls.certificate_refs
    secret = listener.tls.certificate_refs[0].name
    secrets.add(secret)
    base = listener_cert_dir(secret)
    return f"{base}/tls.crt", f"{base}/tls.key"
