"""Virtual hosts from route entries: precedence order, shadowed claims dropped and reported."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from meshproxy import config as pc

from .notes import Notes
from .report import q
from .rules import KIND, Entry


@dataclass
class Claims:
    """Across all hosts: which Routes had an entry served, and which lost entries to whom."""

    won: set[str] = field(default_factory=set)
    shadowed: dict[str, list[str]] = field(default_factory=dict)

    def merge(self, other: Claims) -> None:
        """Add another config's claims after this one's (messages keep that order)."""
        self.won |= other.won
        for key, messages in other.shadowed.items():
            self.shadowed.setdefault(key, []).extend(messages)


def ordered_routes(
    host: str, entries: Iterable[Entry], report: Notes, claims: Claims
) -> list[pc.Route]:
    """Routes for one host in precedence order. Of two entries with the same claim only the
    first is kept; the loser is recorded in `claims.shadowed` (route key -> messages)."""
    shadowed = claims.shadowed
    winners: dict[tuple[object, ...], Entry] = {}
    out: list[pc.Route] = []
    for e in sorted(entries, key=lambda e: e.order):
        won = winners.get(e.claim)
        if won is not None:
            if won.owner.meta.key != e.owner.meta.key:
                shadowed.setdefault(e.owner.meta.key, []).append(
                    f"{e.label} on host {q(host)} is also claimed by Route {won.owner.meta.key}, "
                    "which is older and wins"
                )
                report.set(
                    KIND,
                    e.owner.meta,
                    "Conflicted",
                    "True",
                    "HostnameConflict",
                    f"{e.label} on host {q(host)} loses to Route {won.owner.meta.key} (older wins)",
                )
            continue
        winners[e.claim] = e
        claims.won.add(e.owner.meta.key)
        out.append(e.route)
    return out


def clusters_used(listeners: Iterable[pc.Listener]) -> set[str]:
    return clusters_named(
        r for listener in listeners for vh in listener.virtual_hosts for r in vh.routes
    )


def clusters_named(routes: Iterable[pc.Route]) -> set[str]:
    used: set[str] = set()
    for r in routes:
        if r.forward:
            used.update(c.cluster for c in r.forward.clusters)
            used.update(m.cluster for m in r.forward.mirrors)
    return used
