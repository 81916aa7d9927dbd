"""Listeners that never parse HTTP: plain TCP, and TLS passed through by SNI (never terminated).

A listener with `passthrough` set forwards each connection's bytes as they are to one endpoint
of a cluster (the clusters' balancing, pools and outlier detection apply per connection). TCP
has one route (its clusters weighted) or none; TLS picks the route whose `sni` names the
ClientHello's server name: exact names first, then the longest `*.suffix` wildcard (one or
more labels, as Gateway API hostnames), then a route without `sni`; none: the connection is
closed.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from .base import Model
from .forward import WeightedCluster

_SNI = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class PassthroughRoute(Model, frozen=True):
    name: str
    clusters: Annotated[list[WeightedCluster], msgspec.Meta(min_length=1)]
    source: str = ""  # the resource it came from, a metrics label
    sni: list[str] = msgspec.field(default_factory=list)  # TLS only; empty: any server name

    def __post_init__(self) -> None:
        if not any(c.weight for c in self.clusters):
            raise ValueError(f"route {self.name!r}: at least one weight must be above zero")
        bad = [name for name in self.sni if not _SNI.match(name)]
        if bad:
            raise ValueError(f"route {self.name!r}: sni {bad} are not lower-case host names")


class Passthrough(Model, frozen=True):
    protocol: Literal["TCP", "TLS"]
    # None at all: the port is open and every connection is closed (`no_route`), as an HTTP
    # listener without routes answers 404 (a Route whose backends are all gone).
    routes: list[PassthroughRoute]
    # The ClientHello must fit in this many bytes (records included) and arrive within the
    # listener's header timeout; a bigger one is closed like a malformed one.
    max_hello_bytes: Annotated[int, msgspec.Meta(ge=1024, le=65536)] = 16384

    def __post_init__(self) -> None:
        if self.protocol == "TCP":
            if len(self.routes) > 1 or any(r.sni for r in self.routes):
                raise ValueError("passthrough TCP: at most one route, without sni")
            return
        seen: set[str] = set()
        fallbacks = 0
        for route in self.routes:
            fallbacks += not route.sni
            for name in route.sni:
                if name in seen:
                    raise ValueError(f"passthrough TLS: sni {name!r} is claimed by two routes")
                seen.add(name)
        if fallbacks > 1:
            raise ValueError("passthrough TLS: at most one route without sni")
