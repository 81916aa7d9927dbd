"""Which listeners of which Gateway accept an HTTPRoute or a GRPCRoute, per parentRef, with the
Gateway API's reasons when none does. Pure.

A parentRef picks listeners by `sectionName` and `port` (none left: NoMatchingParent); a picked
listener takes the route only if its `allowedRoutes` admit the route's namespace and kind
(else NotAllowedByListeners) and the hostnames intersect (else NoMatchingListenerHostname).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from meshgate.compile.hostnames import intersect
from meshgate.compile.snapshot import Namespace

from .listeners import ListenerVerdict
from .objects import GROUP, Gateway, HTTPRoute, ObjectRef, RouteKind


@dataclass(frozen=True)
class ParentVerdict:
    ref: ObjectRef
    gateway: Gateway
    # (listener name, hostnames the route serves there) for every listener that took it
    listeners: tuple[tuple[str, tuple[str, ...]], ...]
    reason: str  # Accepted, or why not
    message: str

    @property
    def accepted(self) -> bool:
        return bool(self.listeners)


def judge_parent(
    route: HTTPRoute,
    ref: ObjectRef,
    gw: Gateway,
    verdicts: tuple[ListenerVerdict, ...],
    namespaces: Mapping[str, Namespace],
) -> ParentVerdict:
    picked = [
        v
        for v in verdicts
        if (ref.section_name is None or v.name == ref.section_name)
        and (ref.port is None or v.listener.port == ref.port)
    ]
    gw_name = f'gateway "{gw.meta.namespace}/{gw.meta.name}"'
    if not picked:
        what = []
        if ref.section_name is not None:
            what.append(f'named "{ref.section_name}"')
        if ref.port is not None:
            what.append(f"on port {ref.port}")
        return ParentVerdict(
            ref, gw, (), "NoMatchingParent", f"{gw_name} has no listener {' '.join(what)}"
        )
    taken: list[tuple[str, tuple[str, ...]]] = []
    refusals: list[tuple[str, str]] = []
    for v in picked:
        if not v.usable:
            refusals.append(("NotAllowedByListeners", f"listener {v.name} is not accepted"))
            continue
        if RouteKind(GROUP, route.kind) not in v.supported_kinds:
            refusals.append(
                ("NotAllowedByListeners", f"listener {v.name} does not allow {route.kind}s")
            )
            continue
        if not _namespace_allowed(v, gw, route, namespaces):
            refusals.append(
                (
                    "NotAllowedByListeners",
                    f'listener {v.name} does not allow routes from namespace "'
                    f'{route.meta.namespace}"',
                )
            )
            continue
        hosts = intersect(v.listener.hostname, list(route.hostnames) or None)
        if not hosts:
            refusals.append(
                (
                    "NoMatchingListenerHostname",
                    f"listener {v.name} serves {v.listener.hostname}, none of the route's "
                    "hostnames",
                )
            )
            continue
        taken.append((v.name, tuple(hosts)))
    if taken:
        names = ", ".join(name for name, _ in taken)
        return ParentVerdict(ref, gw, tuple(taken), "Accepted", f"accepted by listeners {names}")
    # NotAllowedByListeners says more than a hostname mismatch when both happened.
    reason = next((r for r in refusals if r[0] == "NotAllowedByListeners"), refusals[0])[0]
    message = f"{gw_name}: " + "; ".join(m for _, m in refusals)
    return ParentVerdict(ref, gw, (), reason, message)


def _namespace_allowed(
    v: ListenerVerdict, gw: Gateway, route: HTTPRoute, namespaces: Mapping[str, Namespace]
) -> bool:
    rule = v.listener.namespaces_from
    if rule == "All":
        return True
    if rule == "Same":
        return route.meta.namespace == gw.meta.namespace
    if rule == "Selector" and v.listener.namespace_selector is not None:
        ns = namespaces.get(route.meta.namespace)
        return v.listener.namespace_selector.matches(ns.labels if ns else {})
    return False  # `None`, or a Selector without a selector
