"""HTTPRoutes and GRPCRoutes never share a hostname on one listener (the Gateway API's "cross
serving" rule, in GRPCRoute's `spec.hostnames`). Pure.

Of two routes of the other kind whose hostnames on a listener intersect, exactly one is accepted
there: the older (creation time, then namespace/name). Routes are taken oldest first and each
keeps the listeners where no route of the other kind already kept an intersecting hostname, so a
new route never takes a listener from one that already serves it, and a refused route blocks
nothing. The refused one gets Accepted=False with reason HostnameConflict (the API names no
reason for it; Istio and Traefik use this one), and its rules are not served on that listener.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from meshgate.compile.hostnames import intersect

from .objects import HTTPRoute
from .parents import ParentVerdict

RouteKey = tuple[str, str, str]  # (kind, namespace, name)
REASON = "HostnameConflict"
# The two kinds the rule keeps apart (a TLSRoute never shares a listener with either).
KINDS = {"HTTPRoute", "GRPCRoute"}


@dataclass(frozen=True)
class Claim:
    """A route accepted on a listener with the hostnames it serves there."""

    route: HTTPRoute
    gateway: str  # namespace/name
    listener: str
    hosts: tuple[str, ...]


def route_key(route: HTTPRoute) -> RouteKey:
    return (route.kind, route.meta.namespace, route.meta.name)


def overlap(a: str, b: str) -> bool:
    """Whether two hostnames (each maybe `*` or a `*.` wildcard) can name one host."""
    return a == "*" or b == "*" or bool(intersect(a, [b]))


def refused(claims: Iterable[Claim]) -> dict[tuple[RouteKey, str, str], HTTPRoute]:
    """(route, gateway, listener) refused by the rule -> the route of the other kind that keeps
    the listener."""
    kept: dict[tuple[str, str], list[Claim]] = defaultdict(list)
    out: dict[tuple[RouteKey, str, str], HTTPRoute] = {}
    for claim in sorted(claims, key=lambda c: c.route.meta.age_key):
        holders = kept[(claim.gateway, claim.listener)]
        winner = next(
            (
                held.route
                for held in holders
                if {held.route.kind, claim.route.kind} == KINDS
                and any(overlap(a, b) for a in held.hosts for b in claim.hosts)
            ),
            None,
        )
        if winner is None:
            holders.append(claim)
        else:
            out[(route_key(claim.route), claim.gateway, claim.listener)] = winner
    return out


def apply_refusals(
    route: HTTPRoute, verdict: ParentVerdict, lost: dict[tuple[RouteKey, str, str], HTTPRoute]
) -> ParentVerdict:
    """`verdict` without the listeners the rule refuses `route` on; not accepted when none is
    left, with the route of the other kind that keeps them."""
    gw = verdict.gateway.meta.key
    key = route_key(route)
    kept = tuple(x for x in verdict.listeners if (key, gw, x[0]) not in lost)
    if len(kept) == len(verdict.listeners):
        return verdict
    refusals = [
        f"listener {name}: {lost[(key, gw, name)].kind} "
        f'"{lost[(key, gw, name)].meta.key}" (older) serves these hostnames'
        for name, _ in verdict.listeners
        if (key, gw, name) in lost
    ]
    why = "; ".join(refusals) + "; an HTTPRoute and a GRPCRoute may not share a hostname"
    if kept:
        names = ", ".join(name for name, _ in kept)
        return dataclasses.replace(
            verdict, listeners=kept, message=f"accepted by listeners {names}; refused on {why}"
        )
    return ParentVerdict(verdict.ref, verdict.gateway, (), REASON, f'gateway "{gw}": {why}')
