"""Hostname intersection between a listener and a Route, as the Gateway API defines it. Pure."""

from __future__ import annotations


def covers(wildcard: str, host: str) -> bool:
    """`*.example.com` covers `a.example.com` and `a.b.example.com`, not `example.com`."""
    return wildcard.startswith("*.") and host.endswith(wildcard[1:]) and host != wildcard[2:]


def intersect(listener: str | None, route: list[str] | None) -> list[str]:
    """Hostnames a Route serves on a listener; empty when they share none.

    No listener hostname: the Route's own (or `*`). No Route hostnames: the listener's. Both:
    each pair that overlaps contributes its more specific side.
    """
    if not route:
        return [listener or "*"]
    if listener is None:
        return sorted(set(route))
    out: set[str] = set()
    for h in route:
        if h == listener or covers(listener, h):
            out.add(h)
        elif covers(h, listener):
            out.add(listener)
    return sorted(out)
