"""TCP and TLS passthrough listeners of a Gateway: Routes become proxy passthrough routes. Pure.

A Route attaches to a TCP or TLS listener only when a parentRef names that listener
(`sectionName` or `port`): a Route for "every listener" of a Gateway means its HTTP ones. A
Route attached to a `TCP` or `TLS` listener is read as the Gateway API reads a TCPRoute or
TLSRoute: its rules say only where connections go (`backendRefs`, weights and subsets; the
backends of every rule together), and on a TLS listener its hostnames (intersected with the
listener's, as for HTTP) are the SNI names it takes. A Route whose rules say anything about
requests (matches, filters, timeouts, retries) cannot be served on such a listener and is not
attached there (`misfit`, reason `UnsupportedValue`).

- TLS: each name goes to the oldest Route that claims it on that port; a later claim is
  `Conflicted=True` (`HostnameConflict`). A Route without hostnames on a listener without one
  takes every other name.
- TCP: the listener forwards to the oldest attached Route; the others are `Conflicted`.
- Connections go straight to the Service's endpoints, as plain TCP: a passthrough cluster is the
  Service port's cluster (balancing, connection pool, outlier detection of its DestinationRule)
  with upstream TLS off and its own name (`passthrough:<cluster>`), so it never shares pooled
  HTTP connections. Meshed backends are reached on their app port, past their sidecar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import msgspec

from meshgate.api.v1alpha1.gateway import GatewaySpec, Listener
from meshgate.api.v1alpha1.route import RouteMatch, RouteSpec
from meshproxy import config as pc

from .clusters import ClusterBook
from .connection_limits import port_limits
from .names import ClusterRef
from .notes import Notes
from .report import q
from .rules import KIND as ROUTE
from .rules import RouteTranslation
from .snapshot import Resource
from .vhosts import Claims

if TYPE_CHECKING:
    from .attach import Attachment

PROTOCOLS = ("TCP", "TLS")
PREFIX = "passthrough:"
_EVERY_REQUEST = RouteMatch()


def misfit(listener: Listener, spec: RouteSpec, named: bool) -> str | None:
    """Why a Route cannot be served on a TCP or TLS `listener`; None when it can (or when the
    listener is HTTP). `named`: the parentRef names the listener (sectionName or port), which a
    Route needs to attach there: a Route for every listener of a Gateway means its HTTP ones."""
    if listener.protocol not in PROTOCOLS:
        return None
    if not named:
        return (
            f"listener {q(listener.name)} is {listener.protocol}: a Route attaches there only "
            "when its parentRef names it (sectionName or port)"
        )
    said: list[str] = []
    for i, rule in enumerate(spec.rules):
        if rule.matches != [_EVERY_REQUEST]:
            said.append(f"rules[{i}].matches")
        for field in ("filters", "timeouts", "retry", "retry_policy_ref"):
            if getattr(rule, field):
                said.append(f"rules[{i}].{_camel(field)}")
    if listener.protocol == "TCP" and spec.hostnames:
        said.append("hostnames")
    if not said:
        return None
    return (
        f"listener {q(listener.name)} is {listener.protocol}: a Route there may only have "
        f"backendRefs in its rules{' and hostnames (SNI)' if listener.protocol == 'TLS' else ''}; "
        f"remove {', '.join(said)} or attach with sectionName to an HTTP listener"
    )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass
class PassthroughPort:
    """One port's passthrough listener and the clusters it names."""

    listener: pc.Listener | None
    clusters: list[pc.Cluster]


Translate = Callable[[Resource[RouteSpec]], RouteTranslation]


def compile_port(
    gw: Resource[GatewaySpec],
    port: int,
    group: Sequence[Listener],
    attached: dict[str, list[Attachment]],
    translate: Translate,
    clusters: ClusterBook,
    notes: Notes,
    used: dict[ClusterRef, pc.Cluster | None],
    claims: Claims,
) -> PassthroughPort:
    """The proxy listener for a port of TCP or TLS listeners (they share one protocol)."""
    protocol: Literal["TCP", "TLS"] = "TCP" if group[0].protocol == "TCP" else "TLS"
    winners: dict[str, Resource[RouteSpec]] = {}  # SNI name ("" for every name) -> winner
    routes: list[pc.PassthroughRoute] = []
    out_clusters: dict[str, pc.Cluster] = {}
    pairs = sorted(
        ((a, listener) for listener in group for a in attached.get(listener.name, [])),
        key=lambda pair: pair[0].route.meta.age_key,
    )
    by_route: dict[str, tuple[Resource[RouteSpec], list[str]]] = {}
    for attachment, _ in pairs:
        route = attachment.route
        if protocol == "TCP":
            names = [""]
        else:  # `*`: neither the listener nor the Route names a host
            names = sorted({"" if h == "*" else h for h in attachment.hostnames})
        kept: list[str] = []
        for name in names:
            winner = winners.setdefault(name, route)
            if winner.meta.key == route.meta.key:
                kept.append(name)
                continue
            what = f"host {q(name)}" if name else "every connection"
            claims.shadowed.setdefault(route.meta.key, []).append(
                f"{what} on port {port} is also claimed by Route {winner.meta.key}, which is "
                "older and wins"
            )
            notes.set(
                ROUTE, route.meta, "Conflicted", "True", "HostnameConflict",
                f"{what} on port {port} of gateway {gw.meta.key} is also claimed by Route "
                f"{winner.meta.key}, which is older and wins",
            )  # fmt: skip
        entry = by_route.setdefault(route.meta.key, (route, []))
        entry[1].extend(n for n in kept if n not in entry[1])
    for key in sorted(by_route, key=lambda k: by_route[k][0].meta.age_key):
        route, names = by_route[key]
        if not names:
            continue
        weighted = _weighted_clusters(translate(route), clusters, used, out_clusters)
        if not weighted:
            continue  # every backend unresolved: its status says so, connections are closed
        claims.won.add(key)
        sni = sorted(n for n in names if n)
        if sni:
            routes.append(pc.PassthroughRoute(name=key, source=key, sni=sni, clusters=weighted))
        if "" in names:  # every name no other route claims (TCP: every connection)
            name = f"{key}/*" if sni else key
            routes.append(pc.PassthroughRoute(name=name, source=key, clusters=weighted))
    # Open even without routes: a client is closed (not refused a connection), as an HTTP
    # port without routes answers 404.
    listener = pc.Listener(
        name="+".join(ln.name for ln in group),
        port=port,
        role="edge",
        passthrough=pc.Passthrough(protocol=protocol, routes=routes),
        connection_limits=port_limits(list(group)),
    )
    return PassthroughPort(listener, [out_clusters[n] for n in sorted(out_clusters)])


def _weighted_clusters(
    translation: RouteTranslation,
    clusters: ClusterBook,
    used: dict[ClusterRef, pc.Cluster | None],
    out: dict[str, pc.Cluster],
) -> list[pc.WeightedCluster]:
    built_by_name: dict[str, pc.Cluster | None] = {}
    for ref in translation.clusters:  # every one, served or not: what the next compile checks
        used[ref] = built_by_name[ref.name] = clusters.ensure(ref)
    weights: dict[str, int] = {}
    for entry in translation.entries:
        forward = entry.route.forward
        if forward is None:
            continue
        for wc in forward.clusters:
            built = built_by_name.get(wc.cluster)
            if built is None:
                continue
            name = PREFIX + built.name
            out[name] = msgspec.structs.replace(
                built, name=name, tls=pc.UpstreamTLS(mode="DISABLE"), protocol="HTTP1"
            )
            weights[name] = weights.get(name, 0) + wc.weight
    return [pc.WeightedCluster(cluster=n, weight=w) for n, w in sorted(weights.items()) if w]
