"""What the bench reads from /proc: a process's CPU time and RSS, the host's CPU counters.

Readers only: this module never starts, signals or changes anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuTime:
    """A process's user and kernel CPU seconds, all of its threads included."""

    user: float
    kernel: float


def cpu_time(pid: int) -> CpuTime:
    raw = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces or parentheses: fields start after the last ")".
    fields = raw[raw.rindex(")") + 2 :].split()
    return CpuTime(user=int(fields[11]) / CLK_TCK, kernel=int(fields[12]) / CLK_TCK)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def host_cpu() -> list[int]:
    """The aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal..."""
    first = Path("/proc/stat").read_text().splitlines()[0]
    return [int(x) for x in first.split()[1:]]


def steal_percent(before: list[int], after: list[int]) -> float:
    """Steal time between two `host_cpu()` readings, as a share of all CPU time then."""
    delta = [b - a for a, b in zip(before, after, strict=True)]
    # guest and guest_nice (fields 9, 10) are already counted in user and nice.
    total = sum(delta[:8])
    return 100.0 * delta[7] / total if total > 0 else 0.0


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])
