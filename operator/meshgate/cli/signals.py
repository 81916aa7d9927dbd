"""Golden signals from meshproxy's Prometheus text: requests/s, success rate, p50/p95/p99. Pure.

Two scrapes of every proxy, `seconds` apart: rates and latency quantiles come from the counter
and histogram differences between them, so a proxy's whole history never hides what happens now.
Traffic is grouped three ways: per workload (what its sidecars answered, inbound), per Gateway
(what its proxies answered at the edge), and per Route (every proxy that served one of its rules).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .proxies import Proxy, parse_labels

Labels = tuple[tuple[str, str], ...]
Sample = tuple[str, Labels, float]


def parse(text: str) -> list[Sample]:
    """`name{labels} value` lines; comments and malformed lines skipped."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        try:
            number = float(value)
        except ValueError:
            continue
        if "{" in head:
            name = head[: head.index("{")]
            labels = tuple(
                sorted(parse_labels(head[head.index("{") + 1 : head.rindex("}")]).items())
            )
        else:
            name, labels = head, ()
        out.append((name, labels, number))
    return out


@dataclass
class _Acc:
    total: float = 0.0
    failed: float = 0.0
    buckets: dict[float, float] | None = None

    def add_bucket(self, le: float, count: float) -> None:
        self.buckets = self.buckets or {}
        self.buckets[le] = self.buckets.get(le, 0.0) + count


@dataclass(frozen=True)
class Signal:
    scope: str  # workload, gateway or route
    namespace: str
    name: str
    requests: int
    rps: float
    success_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    def row(self) -> dict[str, object]:
        return {
            "scope": self.scope,
            "namespace": self.namespace,
            "name": self.name,
            "requests": self.requests,
            "rps": round(self.rps, 2),
            "successRate": None if self.success_rate is None else round(self.success_rate * 100, 2),
            "p50Ms": self.p50_ms,
            "p95Ms": self.p95_ms,
            "p99Ms": self.p99_ms,
        }


def _groups(proxy: Proxy, labels: Mapping[str, str]) -> Iterable[tuple[str, str, str]]:
    direction = labels.get("direction", "")
    if proxy.role == "sidecar" and direction == "inbound":
        yield ("workload", proxy.namespace, proxy.owner)
    if proxy.role == "gateway" and direction == "ingress":
        yield ("gateway", proxy.namespace, proxy.owner)
    route = labels.get("route", "")
    if route and route != "inbound":
        parts = route.split("/")
        if len(parts) >= 2:
            yield ("route", parts[0], parts[1])


def _accumulate(
    scrapes: Mapping[Proxy, Sequence[Sample]], sign: float, into: dict[tuple[str, str, str], _Acc]
) -> None:
    for proxy, samples in scrapes.items():
        for name, labels, value in samples:
            lab = dict(labels)
            if name == "meshproxy_requests_total":
                for key in _groups(proxy, lab):
                    acc = into.setdefault(key, _Acc())
                    acc.total += sign * value
                    if lab.get("code", "").startswith("5"):
                        acc.failed += sign * value
            elif name == "meshproxy_request_duration_seconds_bucket":
                le = math.inf if lab.get("le") == "+Inf" else float(lab.get("le", "inf"))
                for key in _groups(proxy, lab):
                    into.setdefault(key, _Acc()).add_bucket(le, sign * value)


def signals(
    before: Mapping[Proxy, Sequence[Sample]],
    after: Mapping[Proxy, Sequence[Sample]],
    seconds: float,
) -> list[Signal]:
    """The signals between two scrapes `seconds` apart (a proxy missing from `before` counts
    from zero: it started in between)."""
    acc: dict[tuple[str, str, str], _Acc] = defaultdict(_Acc)
    _accumulate(after, 1.0, acc)
    _accumulate({p: s for p, s in before.items() if p in after}, -1.0, acc)
    out = []
    for (scope, ns, name), a in sorted(acc.items()):
        total = max(a.total, 0.0)
        buckets = sorted((a.buckets or {}).items())
        out.append(
            Signal(
                scope=scope,
                namespace=ns,
                name=name,
                requests=int(total),
                rps=total / seconds if seconds > 0 else 0.0,
                success_rate=(1 - a.failed / total) if total else None,
                p50_ms=quantile(buckets, 0.50),
                p95_ms=quantile(buckets, 0.95),
                p99_ms=quantile(buckets, 0.99),
            )
        )
    return out


def quantile(buckets: Sequence[tuple[float, float]], q: float) -> float | None:
    """Prometheus' histogram_quantile over cumulative `(le, count)` pairs, in milliseconds."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    prev_le, prev_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return round(prev_le * 1000, 2)
            span = count - prev_count
            frac = (rank - prev_count) / span if span > 0 else 1.0
            return round((prev_le + (le - prev_le) * frac) * 1000, 2)
        prev_le, prev_count = le, count
    return None
