"""The operator's Prometheus metrics, kept in memory and rendered in the text exposition format.

Small on purpose: counters, gauges and one histogram are all the operator exports, so a client
library is not worth a dependency.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Metrics:
    reconciles: int = 0
    errors: int = 0
    writes: int = 0
    deletes: int = 0
    status_writes: int = 0
    queue_depth: int = 0  # events folded into the next reconcile
    config_bytes: dict[str, int] = field(default_factory=dict)  # output -> bytes
    last_success: float = 0.0
    _buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    _sum: float = 0.0
    _count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, seconds: float) -> None:
        with self._lock:
            self._count += 1
            self._sum += seconds
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self._buckets[i] += 1

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP meshgate_reconciles_total Reconciles run.",
                "# TYPE meshgate_reconciles_total counter",
                f"meshgate_reconciles_total {self.reconciles}",
                "# HELP meshgate_reconcile_errors_total Reconciles that failed or wrote partially.",
                "# TYPE meshgate_reconcile_errors_total counter",
                f"meshgate_reconcile_errors_total {self.errors}",
                "# HELP meshgate_object_writes_total Generated objects applied.",
                "# TYPE meshgate_object_writes_total counter",
                f"meshgate_object_writes_total {self.writes}",
                "# HELP meshgate_object_deletes_total Generated objects deleted.",
                "# TYPE meshgate_object_deletes_total counter",
                f"meshgate_object_deletes_total {self.deletes}",
                "# HELP meshgate_status_writes_total Status subresources written.",
                "# TYPE meshgate_status_writes_total counter",
                f"meshgate_status_writes_total {self.status_writes}",
                "# HELP meshgate_queue_depth Events waiting for the next reconcile.",
                "# TYPE meshgate_queue_depth gauge",
                f"meshgate_queue_depth {self.queue_depth}",
                "# HELP meshgate_last_success_timestamp_seconds End of the last good reconcile.",
                "# TYPE meshgate_last_success_timestamp_seconds gauge",
                f"meshgate_last_success_timestamp_seconds {self.last_success}",
                "# HELP meshgate_config_bytes Size of each generated proxy config.",
                "# TYPE meshgate_config_bytes gauge",
            ]
            for output in sorted(self.config_bytes):
                lines.append(
                    f'meshgate_config_bytes{{output="{output}"}} {self.config_bytes[output]}'
                )
            lines += [
                "# HELP meshgate_reconcile_duration_seconds Time of one reconcile.",
                "# TYPE meshgate_reconcile_duration_seconds histogram",
            ]
            for bound, count in zip(BUCKETS, self._buckets, strict=True):
                lines.append(f'meshgate_reconcile_duration_seconds_bucket{{le="{bound}"}} {count}')
            lines += [
                f'meshgate_reconcile_duration_seconds_bucket{{le="+Inf"}} {self._count}',
                f"meshgate_reconcile_duration_seconds_sum {self._sum:.6f}",
                f"meshgate_reconcile_duration_seconds_count {self._count}",
            ]
        return "\n".join(lines) + "\n"
