"""A small hand-written metrics registry, rendered as Prometheus text on `/metrics`.

Label sets are bound ahead of time: the stack asks the registry for a `RequestStats` per
(listener, direction, route, cluster) when it is built, so recording a request is an attribute
increment and one small dict update, never a label-dict build. Children live in the registry,
not in a stack, so counters survive config reloads.

This module must never do I/O; rendering returns text.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable

# Seconds; about what a proxy hop and its upstream take, from sub-millisecond to slow.
BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


class RequestStats:
    """Requests and durations for one (listener, direction, route, cluster)."""

    __slots__ = ("buckets", "codes", "count", "grpc", "h2", "labels", "sum")

    def __init__(self, labels: tuple[tuple[str, str], ...]) -> None:
        self.labels = labels
        self.codes: dict[int, int] = {}
        self.h2 = 0  # of `count`, requests that came over HTTP/2
        self.grpc: dict[str, int] = {}  # gRPC calls by grpc-status
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.count = 0
        self.sum = 0.0

    def observe(self, status: int, seconds: float) -> None:
        codes = self.codes
        codes[status] = codes.get(status, 0) + 1
        self.buckets[bisect_left(BUCKETS, seconds)] += 1
        self.count += 1
        self.sum += seconds


class PoolStats:
    """Connections to one cluster's endpoints, and requests refused for want of one."""

    __slots__ = ("closed", "opened", "overflowed")

    def __init__(self) -> None:
        self.opened = 0
        self.closed = 0
        self.overflowed = 0


class Counter:
    """A counter family with pre-bound children: `family.child(labels)` once, `.inc()` often."""

    __slots__ = ("children", "help", "name")

    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text
        self.children: dict[tuple[tuple[str, str], ...], Child] = {}

    def child(self, **labels: str) -> Child:
        key = tuple(sorted(labels.items()))
        found = self.children.get(key)
        if found is None:
            found = self.children[key] = Child()
        return found


class Child:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1) -> None:
        self.value += amount


Gauges = Callable[[], Iterable[tuple[tuple[tuple[str, str], ...], float]]]


class Registry:
    def __init__(self) -> None:
        self._requests: dict[tuple[tuple[str, str], ...], RequestStats] = {}
        self._pools: dict[str, PoolStats] = {}
        self.counters: dict[str, Counter] = {}
        self._gauges: dict[str, tuple[str, str, Gauges]] = {}
        self.retries = self.counter("meshproxy_upstream_retries_total", "Retries, by cluster.")
        self.rate_limited = self.counter(
            "meshproxy_rate_limited_total", "Requests refused with 429, by rate-limit policy."
        )
        self.rejected = self.counter(
            "meshproxy_rejected_requests_total",
            "Requests refused before routing (malformed, oversize, timeouts), by listener, code.",
        )
        self.reloads = self.counter(
            "meshproxy_config_reloads_total", "Config loads, by result (success, failure)."
        )
        self.mirrors_dropped = self.counter(
            "meshproxy_mirror_dropped_total", "Mirror copies not sent: too many in flight."
        )
        self.authz_denied = self.counter(
            "meshproxy_authz_denied_total", "Requests denied by AuthorizationPolicy, by listener."
        )
        self.peer_authn_refused = self.counter(
            "meshproxy_peer_authn_refused_total",
            "Inbound requests whose PeerAuthentication mode refused the connection, by listener.",
        )
        self.upstream_identity_rejected = self.counter(
            "meshproxy_upstream_identity_rejected_total",
            "Mesh upstream connections closed: the peer's identity was not an expected one.",
        )
        self.cert_reloads = self.counter(
            "meshproxy_cert_reloads_total",
            "Workload certificate reloads after a file change, by result (success, failure).",
        )

    def counter(self, name: str, help_text: str) -> Counter:
        found = self.counters.get(name)
        if found is None:
            found = self.counters[name] = Counter(name, help_text)
        return found

    def gauge(self, name: str, help_text: str, collect: Gauges) -> None:
        """A gauge read from live state at scrape time (e.g. open connections)."""
        self._gauges[name] = ("gauge", help_text, collect)

    def collected_counter(self, name: str, help_text: str, collect: Gauges) -> None:
        """A counter read from live state at scrape time: `collect` must only ever grow (e.g.
        ejections kept by each cluster's detector), so `rate()` and `increase()` apply."""
        self._gauges[name] = ("counter", help_text, collect)

    def request_stats(self, **labels: str) -> RequestStats:
        key = tuple(sorted(labels.items()))
        found = self._requests.get(key)
        if found is None:
            found = self._requests[key] = RequestStats(key)
        return found

    def pool_stats(self, cluster: str) -> PoolStats:
        found = self._pools.get(cluster)
        if found is None:
            found = self._pools[cluster] = PoolStats()
        return found

    def render(self) -> str:
        out: list[str] = []
        out += [
            "# HELP meshproxy_requests_total Requests answered, by listener, direction, "
            "route, cluster and status code.",
            "# TYPE meshproxy_requests_total counter",
        ]
        for stats in self._requests.values():
            for code, count in sorted(stats.codes.items()):
                labels = _labels((*stats.labels, ("code", str(code))))
                out.append(f"meshproxy_requests_total{labels} {count}")
        out += [
            "# HELP meshproxy_request_duration_seconds Time from the request's first byte to "
            "its response's last.",
            "# TYPE meshproxy_request_duration_seconds histogram",
        ]
        for stats in self._requests.values():
            if not stats.count:
                continue
            cumulative = 0
            for bound, count in zip((*BUCKETS, float("inf")), stats.buckets, strict=True):
                cumulative += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                labels = _labels((*stats.labels, ("le", le)))
                out.append(f"meshproxy_request_duration_seconds_bucket{labels} {cumulative}")
            labels = _labels(stats.labels)
            out.append(f"meshproxy_request_duration_seconds_sum{labels} {stats.sum:.6f}")
            out.append(f"meshproxy_request_duration_seconds_count{labels} {stats.count}")
        out += [
            "# HELP meshproxy_requests_by_protocol_total Requests answered, by the protocol "
            "the client spoke (HTTP/1.1 also counts HTTP/1.0).",
            "# TYPE meshproxy_requests_by_protocol_total counter",
        ]
        for stats in self._requests.values():
            if stats.count:
                h1 = stats.count - stats.h2
                for protocol, total in (("HTTP/1.1", h1), ("HTTP/2", stats.h2)):
                    labels = _labels((*stats.labels, ("protocol", protocol)))
                    out.append(f"meshproxy_requests_by_protocol_total{labels} {total}")
        out += [
            "# HELP meshproxy_grpc_requests_total gRPC calls answered, by grpc-status (the "
            "call's outcome, from the trailers or the proxy's own reply).",
            "# TYPE meshproxy_grpc_requests_total counter",
        ]
        for stats in self._requests.values():
            for grpc_status, calls in sorted(stats.grpc.items()):
                labels = _labels((*stats.labels, ("grpc_status", grpc_status)))
                out.append(f"meshproxy_grpc_requests_total{labels} {calls}")
        out += [
            "# HELP meshproxy_upstream_connections_opened_total Upstream connections opened.",
            "# TYPE meshproxy_upstream_connections_opened_total counter",
        ]
        for cluster, pool in sorted(self._pools.items()):
            labels = _labels((("cluster", cluster),))
            out.append(f"meshproxy_upstream_connections_opened_total{labels} {pool.opened}")
        out += [
            "# HELP meshproxy_upstream_overflow_total Requests answered 503 at once: every "
            "connection of the endpoint busy and its pending queue full (circuit breaking).",
            "# TYPE meshproxy_upstream_overflow_total counter",
        ]
        for cluster, pool in sorted(self._pools.items()):
            labels = _labels((("cluster", cluster),))
            out.append(f"meshproxy_upstream_overflow_total{labels} {pool.overflowed}")
        for counter in self.counters.values():
            out.append(f"# HELP {counter.name} {counter.help}")
            out.append(f"# TYPE {counter.name} counter")
            for key, child in counter.children.items():
                out.append(f"{counter.name}{_labels(key)} {_number(child.value)}")
        for name, (kind, help_text, collect) in self._gauges.items():
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")
            for key, value in collect():
                out.append(f"{name}{_labels(key)} {_number(value)}")
        return "\n".join(out) + "\n"


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return "{" + inner + "}" if inner else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)
