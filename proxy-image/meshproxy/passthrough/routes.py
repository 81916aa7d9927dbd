"""Which passthrough route takes a connection: by the ClientHello's server name (TLS), or the
one route (TCP); then which of its weighted clusters.

SNI order, as Gateway API hostnames: an exact name, then the longest `*.suffix` wildcard (which
covers one or more labels, never the bare suffix), then a route without `sni`. Everything a
pick needs is built once per config (`SniRoutes.compile`), so a connection costs a dict lookup
and at most one `endswith` per wildcard.

Pure: no I/O, no clock; the weighted draw takes its uniform number from the caller.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Generic, TypeVar

from meshproxy import config

T = TypeVar("T")


class WeightedClusters:
    """The clusters of one route with their cumulative weights (weight 0 never drawn)."""

    __slots__ = ("_cumulative", "_names", "_total")

    def __init__(self, clusters: Sequence[config.WeightedCluster]) -> None:
        live = [c for c in clusters if c.weight > 0]
        self._names = tuple(c.cluster for c in live)
        self._cumulative = tuple(accumulate(c.weight for c in live))
        self._total = float(self._cumulative[-1]) if live else 0.0

    def pick(self, r: float) -> str:
        """The cluster for `r` drawn uniformly from [0, 1)."""
        if len(self._names) == 1:
            return self._names[0]
        index = bisect_right(self._cumulative, r * self._total)
        return self._names[min(index, len(self._names) - 1)]


class SniRoutes(Generic[T]):
    """Values (a route's runtime) by server name."""

    __slots__ = ("_exact", "_fallback", "_wildcards")

    def __init__(
        self,
        exact: dict[str, T],
        wildcards: tuple[tuple[str, T], ...],
        fallback: T | None,
    ) -> None:
        self._exact = exact
        self._wildcards = wildcards
        self._fallback = fallback

    @classmethod
    def compile(cls, entries: Sequence[tuple[Sequence[str], T]]) -> SniRoutes[T]:
        """`entries`: each route's `sni` names with its value; an empty list is the fallback."""
        exact: dict[str, T] = {}
        wildcards: dict[str, T] = {}
        fallback: T | None = None
        for names, value in entries:
            if not names and fallback is None:
                fallback = value
            for name in names:
                if name.startswith("*."):
                    wildcards.setdefault(name[1:], value)  # the suffix, dot included
                else:
                    exact.setdefault(name, value)
        ordered = tuple(sorted(wildcards.items(), key=lambda item: -len(item[0])))
        return cls(exact, ordered, fallback)

    def pick(self, server_name: str | None) -> T | None:
        """The route for `server_name` (lower case; None: the client sent none)."""
        if server_name is None:
            return self._fallback
        found = self._exact.get(server_name)
        if found is not None:
            return found
        for suffix, value in self._wildcards:
            if server_name.endswith(suffix) and len(server_name) > len(suffix):
                return value
        return self._fallback
