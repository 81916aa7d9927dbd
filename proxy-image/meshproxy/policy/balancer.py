"""Load balancing: which endpoint of a cluster takes the next request.

`EndpointState` is the one mutable record per endpoint that the balancer, the outlier detector
and the runtime share (the runtime counts `active_requests`, the detector sets `ejected_until`).
Each balancer precomputes at construction what its picks need: cumulative weights for the
weighted random draw, a hash ring for consistent hashing, an equal-weights flag that turns smooth
weighted round robin into a plain rotation.

Every pick skips endpoints with `ejected_until > now` and returns None when none is left. The
upstream layer then picks again at `now = inf`, ignoring ejections, when every endpoint is out
(Envoy's panic routing, taken only at zero healthy rather than below half).

This module must never do I/O, read the clock or draw from a global random generator: `now`
comes in, and the random draws come from the `rng` callable handed to the constructor.
"""

from __future__ import annotations

import random

# Not from hashlib, whose import holds 0.6 MiB of every proxy (`meshproxy.digest`): the same type.
from _blake2 import blake2b
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from itertools import accumulate
from typing import Protocol

from meshproxy import config

__all__ = [
    "Balancer",
    "ConsistentHashBalancer",
    "EndpointState",
    "LeastRequestBalancer",
    "RandomBalancer",
    "RoundRobinBalancer",
    "hash_key_for",
    "make_balancer",
]

# Ring points per unit of endpoint weight: enough for an even spread over a few dozen
# endpoints (Envoy's ring hash default minimum is 1024 in total) while staying cheap to build.
_VNODES_PER_WEIGHT = 160
_MAX_VNODES = 160 * 32


class EndpointState:
    """One upstream endpoint and what the proxy has learnt about it while serving."""

    __slots__ = (
        "active_requests",
        "address",
        "consecutive_5xx",
        "consecutive_gateway_errors",
        "ejected_until",
        "ejection_count",
        "labels",
        "port",
        "weight",
    )

    def __init__(
        self, address: str, port: int, weight: int = 1, labels: Mapping[str, str] | None = None
    ) -> None:
        self.address = address
        self.port = port
        self.weight = weight
        self.labels: Mapping[str, str] = dict(labels or {})
        self.active_requests = 0
        self.ejected_until = 0.0
        self.consecutive_5xx = 0
        self.consecutive_gateway_errors = 0
        self.ejection_count = 0

    @classmethod
    def from_config(cls, endpoint: config.Endpoint) -> EndpointState:
        return cls(endpoint.address, endpoint.port, endpoint.weight, endpoint.labels)

    def __repr__(self) -> str:
        return f"EndpointState({self.address}:{self.port}, weight={self.weight})"


class Balancer(Protocol):
    endpoints: list[EndpointState]

    def pick(self, hash_key: bytes | None, now: float) -> EndpointState | None: ...


class RoundRobinBalancer:
    """Smooth weighted round robin (nginx's): weights spread evenly, never in bursts."""

    __slots__ = ("_current", "_equal", "_next", "endpoints")

    def __init__(self, endpoints: list[EndpointState]) -> None:
        self.endpoints = endpoints
        self._equal = len({e.weight for e in endpoints}) <= 1
        self._current = [0] * len(endpoints)
        self._next = 0

    def pick(self, hash_key: bytes | None, now: float) -> EndpointState | None:
        endpoints = self.endpoints
        n = len(endpoints)
        if self._equal:
            start = self._next
            for step in range(n):
                index = (start + step) % n
                endpoint = endpoints[index]
                if endpoint.ejected_until <= now:
                    self._next = index + 1
                    return endpoint
            return None
        current = self._current
        total = 0
        best = -1
        for index, endpoint in enumerate(endpoints):
            if endpoint.ejected_until > now:
                continue
            current[index] += endpoint.weight
            total += endpoint.weight
            if best < 0 or current[index] > current[best]:
                best = index
        if best < 0:
            return None
        current[best] -= total
        return endpoints[best]


class RandomBalancer:
    """Weighted random: a bisect into cumulative weights; ejected endpoints are drawn around."""

    __slots__ = ("_cumulative", "_rng", "_total", "endpoints")

    def __init__(self, endpoints: list[EndpointState], rng: Callable[[], float]) -> None:
        self.endpoints = endpoints
        self._rng = rng
        self._cumulative = list(accumulate(e.weight for e in endpoints))
        self._total = self._cumulative[-1] if endpoints else 0

    def pick(self, hash_key: bytes | None, now: float) -> EndpointState | None:
        return _weighted_draw(self.endpoints, self._cumulative, self._total, self._rng, now)


class LeastRequestBalancer:
    """Power of two choices: two weighted draws, the one with fewer active requests per weight."""

    __slots__ = ("_cumulative", "_rng", "_total", "endpoints")

    def __init__(self, endpoints: list[EndpointState], rng: Callable[[], float]) -> None:
        self.endpoints = endpoints
        self._rng = rng
        self._cumulative = list(accumulate(e.weight for e in endpoints))
        self._total = self._cumulative[-1] if endpoints else 0

    def pick(self, hash_key: bytes | None, now: float) -> EndpointState | None:
        endpoints, cumulative, total, rng = self.endpoints, self._cumulative, self._total, self._rng
        first = _weighted_draw(endpoints, cumulative, total, rng, now)
        if first is None:
            return None
        second = _weighted_draw(endpoints, cumulative, total, rng, now)
        assert second is not None
        # Compare active/weight without division: a*w2 vs b*w1.
        if second.active_requests * first.weight < first.active_requests * second.weight:
            return second
        return first


class ConsistentHashBalancer:
    """A ring of virtual nodes: a key keeps its endpoint while unrelated endpoints come and go.

    Each endpoint's points are hashes of its own `address:port#i`, so adding or removing one
    endpoint moves only the keys that land on its points. An ejected endpoint's keys walk on to
    the next available endpoint on the ring. Without a key, requests go round robin.
    """

    __slots__ = ("_fallback", "_owners", "_points", "endpoints")

    def __init__(self, endpoints: list[EndpointState]) -> None:
        self.endpoints = endpoints
        self._fallback = RoundRobinBalancer(endpoints)
        ring: list[tuple[int, int]] = []
        for index, endpoint in enumerate(endpoints):
            name = f"{endpoint.address}:{endpoint.port}#".encode()
            for replica in range(min(_VNODES_PER_WEIGHT * endpoint.weight, _MAX_VNODES)):
                ring.append((_hash(name + str(replica).encode()), index))
        ring.sort()
        self._points = [point for point, _ in ring]
        self._owners = [owner for _, owner in ring]

    def pick(self, hash_key: bytes | None, now: float) -> EndpointState | None:
        if hash_key is None or not self._points:
            return self._fallback.pick(None, now)
        points, owners, endpoints = self._points, self._owners, self.endpoints
        size = len(points)
        start = bisect_left(points, _hash(hash_key))
        for step in range(size):
            endpoint = endpoints[owners[(start + step) % size]]
            if endpoint.ejected_until <= now:
                return endpoint
        return None


def make_balancer(
    cluster: config.Cluster,
    endpoints: list[EndpointState],
    rng: Callable[[], float] | None = None,
) -> Balancer:
    """The balancer `cluster.load_balancer.policy` names, over `endpoints` (shared, not copied).

    `rng` draws uniformly from [0, 1); without one, the balancer gets a private generator.
    """
    draw = rng if rng is not None else random.Random().random  # noqa: S311 - not for secrets
    policy = cluster.load_balancer.policy
    if policy == "LEAST_REQUEST":
        return LeastRequestBalancer(endpoints, draw)
    if policy == "RANDOM":
        return RandomBalancer(endpoints, draw)
    if policy == "CONSISTENT_HASH":
        return ConsistentHashBalancer(endpoints)
    return RoundRobinBalancer(endpoints)


def hash_key_for(
    cfg: config.ConsistentHash | None, headers: Mapping[str, str], client_ip: str
) -> bytes | None:
    """The consistent-hash key of a request: the first of header, cookie, source IP that is set.

    `headers` is keyed by lower-case names. None (no key) makes the balancer go round robin.
    """
    if cfg is None:
        return None
    if cfg.header is not None:
        value = headers.get(cfg.header.lower())
        if value is not None:
            return value.encode("utf-8", "surrogatepass")
    if cfg.cookie is not None:
        cookie = request_cookie(headers.get("cookie"), cfg.cookie)
        if cookie is not None:
            return cookie.encode("utf-8", "surrogatepass")
    if cfg.source_ip and client_ip:
        return client_ip.encode("ascii", "replace")
    return None


def request_cookie(header: str | None, name: str) -> str | None:
    """The value of cookie `name` in a Cookie header, or None."""
    if not header:
        return None
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value
    return None


def _hash(data: bytes) -> int:
    return int.from_bytes(blake2b(data, digest_size=8).digest(), "big")


def _weighted_draw(
    endpoints: list[EndpointState],
    cumulative: list[int],
    total: int,
    rng: Callable[[], float],
    now: float,
) -> EndpointState | None:
    if not endpoints:
        return None
    index = min(bisect_right(cumulative, rng() * total), len(endpoints) - 1)
    endpoint = endpoints[index]
    if endpoint.ejected_until <= now:
        return endpoint
    # Rare path: draw again among the available ones only.
    available = [e for e in endpoints if e.ejected_until <= now]
    if not available:
        return None
    weights = list(accumulate(e.weight for e in available))
    index = min(bisect_right(weights, rng() * weights[-1]), len(available) - 1)
    return available[index]
