"""How long a change takes to reach the proxies: change observed -> configs written -> proxies
acknowledged, as a Prometheus histogram per stage.

- `written`: from the first watch event of a reconcile to its ConfigMap writes (the active
  replica's reconcile reports both times);
- `acknowledged`: from that same first event (or, on a replica that did not reconcile, from the
  moment its ConfigMap watch delivered the new version) until every proxy polling this replica
  for that target says it runs the new version.

Pure state with an injected clock; rendered in the text exposition format like the operator's
other metrics.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from meshproxy.delivery.target import Target

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
STAGES = ("written", "acknowledged")
NAME = "meshgate_config_convergence_seconds"
# A change nobody acknowledges (its proxies are gone) is dropped after this long.
PENDING_SECONDS = 300.0


class Histogram:
    def __init__(self) -> None:
        self.buckets = [0] * len(BUCKETS)
        self.count = 0
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.count += 1
        self.sum += seconds
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1


class Convergence:
    """Thread-safe: the reconcile thread reports writes, the event loop reports acks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stages = {stage: Histogram() for stage in STAGES}
        # (target, version) -> when the change behind it was first observed
        self._origin: dict[tuple[Target, str], float] = {}
        self._pending: dict[Target, tuple[str, float]] = {}

    def written(self, versions: dict[Target, str], observed_at: float, written_at: float) -> None:
        """A reconcile wrote these configs; the change behind them was observed at `observed_at`."""
        with self._lock:
            for target, version in versions.items():
                self._stages["written"].observe(max(0.0, written_at - observed_at))
                self._origin[(target, version)] = observed_at

    def changed(self, target: Target, version: str, now: float) -> None:
        """This replica serves a new version of `target` from now on."""
        with self._lock:
            origin = self._origin.pop((target, version), now)
            self._pending[target] = (version, min(origin, now))
            for key in [k for k, at in self._origin.items() if now - at > PENDING_SECONDS]:
                del self._origin[key]

    def acknowledged(self, target: Target, applied: Iterable[str], now: float) -> None:
        """The versions every live proxy of `target` runs; completes its pending change when all
        run it (a target with no proxies here completes nothing)."""
        with self._lock:
            pending = self._pending.get(target)
            if pending is None:
                return
            version, since = pending
            runs = list(applied)
            if now - since > PENDING_SECONDS:
                del self._pending[target]
            elif runs and all(v == version for v in runs):
                del self._pending[target]
                self._stages["acknowledged"].observe(now - since)

    def render(self) -> str:
        with self._lock:
            lines = [
                f"# HELP {NAME} Time from a change observed to its configs written, and to every "
                "proxy polling this replica running them.",
                f"# TYPE {NAME} histogram",
            ]
            for stage, hist in self._stages.items():
                for bound, count in zip(BUCKETS, hist.buckets, strict=True):
                    lines.append(f'{NAME}_bucket{{stage="{stage}",le="{bound}"}} {count}')
                lines += [
                    f'{NAME}_bucket{{stage="{stage}",le="+Inf"}} {hist.count}',
                    f'{NAME}_sum{{stage="{stage}"}} {hist.sum:.6f}',
                    f'{NAME}_count{{stage="{stage}"}} {hist.count}',
                ]
        return "\n".join(lines) + "\n"
