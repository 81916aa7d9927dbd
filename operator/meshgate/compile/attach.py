"""Which Gateway listeners accept which Routes (parentRefs, allowedRoutes, hostnames). Pure."""

from __future__ import annotations

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
    refused: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # route key -> (gateway key, listener name) it is attached to
    accepted: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
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


def attach(index: Index, gateways: dict[str, Resource[GatewaySpec]]) -> Attachments:
    out = Attachments()
    for route in index.snapshot.routes:
        if route.spec is None:
            continue
        key = route.meta.key
        refs = route.spec.parent_refs or []
        out.parents[key] = len(refs)
        for ref in refs:
            gw_key = f"{ref.namespace or route.meta.namespace}/{ref.name}"
            gw = gateways.get(gw_key)
            if gw is not None and gw.api_version != route.api_version:
                gw = None  # a Gateway of the other API is not this Route's parent
            if gw is None or gw.spec is None:
                why = "not found" if gw is None else "is invalid"
                out.refused.setdefault(key, []).append(
                    ("NoMatchingParent", f"gateway {q(gw_key)} {why}")
                )
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
                out.by_gateway.setdefault(gw_key, []).append(
                    Attachment(route=route, listener=listener, hostnames=tuple(hosts))
                )
                out.accepted.setdefault(key, set()).add((gw_key, listener.name))
            if not found:
                if not reasons:
                    what = f"listener {q(ref.section_name)}" if ref.section_name else "a listener"
                    if ref.port:
                        what += f" on port {ref.port}"
                    reasons.append(("NoMatchingParent", f"gateway {q(gw_key)} has no {what}"))
                out.refused.setdefault(key, []).extend(reasons)
    return out
