"""Which Gateway listeners accept which Routes (parentRefs, allowedRoutes, hostnames). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from meshgate.api.v1alpha1.gateway import GatewaySpec, Listener
from meshgate.api.v1alpha1.route import RouteSpec

from .hostnames import intersect
from .index import Index
from .passthrough import misfit
from .report import q
from .snapshot import Resource


@dataclass(frozen=True)
class Attachment:
    route: Resource[RouteSpec]
    listener: Listener
    hostnames: tuple[str, ...]


@dataclass
class Attachments:
    """Result of matching every Route's parentRefs against every Gateway."""

    by_gateway: dict[str, list[Attachment]] = field(default_factory=dict)
    # route key -> reasons a parentRef was not accepted: (reason, message)
    refused: dict[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    # route key -> (gateway key, listener name) it is attached to
    accepted: dict[str, AbstractSet[tuple[str, str]]] = field(default_factory=dict)
    parents: dict[str, int] = field(default_factory=dict)


def _allowed(listener: Listener, gw_ns: str, route_ns: str, index: Index) -> bool:
    rule = listener.allowed_routes.namespaces
    if rule.from_ == "All":
        return True
    if rule.from_ == "Same":
        return gw_ns == route_ns
    wanted = (rule.selector.match_labels if rule.selector else None) or {}
    ns = index.namespaces.get(route_ns)
    labels = ns.labels if ns else {}
    return all(labels.get(k) == v for k, v in wanted.items())


@dataclass(frozen=True)
class RouteAttachment:
    """One Route's parentRefs matched against the Gateways: what `attach` gathers, kept by the
    `Compiler` and reused while the Route, the Gateways and the Namespaces stay the same."""

    route: Resource[RouteSpec]
    attached: tuple[tuple[str, Attachment], ...]  # (gateway key, attachment), in ref order
    refused: tuple[tuple[str, str], ...]
    accepted: frozenset[tuple[str, str]]
    parents: int


# route key -> its attachment, as the previous compile found it
Kept = dict[str, RouteAttachment]


def attach(
    index: Index, gateways: dict[str, Resource[GatewaySpec]], kept: Kept | None = None
) -> tuple[Attachments, Kept]:
    """Every Route attached; `kept` (valid only while no Gateway or Namespace moved) saves
    matching again a Route whose object did not move. Also returns what to keep next."""
    out = Attachments()
    now: Kept = {}
    by_gateway, refused, accepted, parents = out.by_gateway, out.refused, out.accepted, out.parents
    kept = kept or {}
    # A Route's kept findings are handed as they are (a tuple, a frozenset), not copied: at
    # 10,000 Routes a set and a list made per Route per compile were most of this loop.
    for route in index.snapshot.routes:
        if route.spec is None:
            continue
        key = route.meta.key
        found = kept.get(key)
        if found is None or found.route is not route:
            found = _attach_one(route, index, gateways)
        if key in now:  # the same Route named twice (a snapshot from files): both count
            now[key] = found
            _merge(out, key, found)
            continue
        now[key] = found
        parents[key] = found.parents
        for gw_key, a in found.attached:
            listed = by_gateway.get(gw_key)
            if listed is None:
                by_gateway[gw_key] = [a]
            else:
                listed.append(a)
        if found.refused:
            refused[key] = found.refused
        if found.accepted:
            accepted[key] = found.accepted
    return out, now


def _merge(out: Attachments, key: str, found: RouteAttachment) -> None:
    """A second copy of a Route's findings joins the first's, as two parentRefs would."""
    out.parents[key] = found.parents
    for gw_key, a in found.attached:
        out.by_gateway.setdefault(gw_key, []).append(a)
    if found.refused:
        out.refused[key] = (*out.refused.get(key, ()), *found.refused)
    if found.accepted:
        out.accepted[key] = out.accepted.get(key, frozenset()) | found.accepted


def _attach_one(
    route: Resource[RouteSpec], index: Index, gateways: dict[str, Resource[GatewaySpec]]
) -> RouteAttachment:
    assert route.spec is not None
    refused: list[tuple[str, str]] = []
    attached: list[tuple[str, Attachment]] = []
    accepted: set[tuple[str, str]] = set()
    refs = route.spec.parent_refs or []
    for ref in refs:
        gw_key = f"{ref.namespace or route.meta.namespace}/{ref.name}"
        gw = gateways.get(gw_key)
        if gw is not None and gw.api_version != route.api_version:
            gw = None  # a Gateway of the other API is not this Route's parent
        if gw is None or gw.spec is None:
            why = "not found" if gw is None else "is invalid"
            refused.append(("NoMatchingParent", f"gateway {q(gw_key)} {why}"))
            continue
        found = False
        reasons: list[tuple[str, str]] = []
        for listener in gw.spec.listeners:
            if ref.section_name and listener.name != ref.section_name:
                continue
            if ref.port and listener.port != ref.port:
                continue
            if not _allowed(listener, gw.meta.namespace, route.meta.namespace, index):
                reasons.append(
                    (
                        "NotAllowedByListeners",
                        f"listener {q(listener.name)} of gateway {q(gw_key)} does not allow "
                        f"Routes from namespace {q(route.meta.namespace)}",
                    )
                )
                continue
            unfit = misfit(listener, route.spec, bool(ref.section_name or ref.port))
            if unfit is not None:  # a TCP or TLS listener takes Routes of backendRefs only
                reasons.append(("UnsupportedValue", unfit))
                continue
            hosts = intersect(listener.hostname, route.spec.hostnames)
            if not hosts:
                reasons.append(
                    (
                        "NoMatchingListenerHostname",
                        f"listener {q(listener.name)} of gateway {q(gw_key)} serves "
                        f"{q(listener.hostname)}, none of the Route's hostnames",
                    )
                )
                continue
            found = True
            attached.append(
                (gw_key, Attachment(route=route, listener=listener, hostnames=tuple(hosts)))
            )
            accepted.add((gw_key, listener.name))
        if not found:
            if not reasons:
                what = f"listener {q(ref.section_name)}" if ref.section_name else "a listener"
                if ref.port:
                    what += f" on port {ref.port}"
                reasons.append(("NoMatchingParent", f"gateway {q(gw_key)} has no {what}"))
            refused.extend(reasons)
    return RouteAttachment(route, tuple(attached), tuple(refused), frozenset(accepted), len(refs))
