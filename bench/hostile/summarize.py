"""One line per run and the medians per test and tree, from interleave.sh's OUT/*.json.

    .venv/bin/python bench/hostile/summarize.py OUT

Per run: the well-behaved client's p99 before and during the attack and their ratio (criterion:
during < 1.5x before), the proxy's own view of the same requests (access log, head parsed to
answer written), the connections held, the proxy's and the attacker's CPU (and the attacker's
scheduling), how long the proxy's loop and the backends waited for a CPU in each window, the
load average, what the TCP stack of the test's network namespace counted during the window (a
SYN sent again costs the client a second), the peak RSS and its share per connection held, how
many attacking connections the slow lane held (0: a tree without it), and the client's failed
requests.
Then the median ratio per test and tree.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def _row(path: Path) -> dict[str, object] | None:
    text = path.read_text().strip()
    if not text:
        return None
    fig = json.loads(text.splitlines()[-1])
    before, during = fig["before"], fig["during"]
    view = fig.get("proxy_view_ms", {})
    tcp = during.get("tcp", {})
    return {
        "run": path.stem,
        "load1": round(fig["load1"], 1),
        "held": fig.get("ramp", {}).get("held", fig.get("proxy_connections_peak")),
        "p99_before": before["p99_ms"],
        "p99_during": during["p99_ms"],
        "ratio": fig["p99_ratio"],
        "proxy_p99_before": view.get("before", {}).get("p99_ms"),
        "proxy_p99_during": view.get("during", {}).get("p99_ms"),
        "proxy_cpu": fig.get("proxy_cpu_share"),
        "attacker_cpu": fig.get("attacker_cpu_share_whole_attack"),
        "attacker_priority": fig.get("attacker_priority", "nice 19"),
        # Time the proxy's loop and the backends' thread waited for a CPU, before / during.
        "waited_for_cpu_ms": [before.get("waited_for_cpu_ms"), during.get("waited_for_cpu_ms")],
        "syn_retrans": tcp.get("TCPSynRetrans"),
        "listen_overflows": tcp.get("ListenOverflows"),
        "pool_overflows": fig.get("files_pool_overflows"),
        "rss_peak_kib": fig.get("rss_peak_kib"),
        "kib_per_connection": fig.get("kib_per_connection"),
        "slow_lane_held": fig.get("slow_lane_held"),
        "failed": before.get("failed", 0) + during.get("failed", 0),
    }


def main(out: str) -> int:
    rows = [r for p in sorted(Path(out).glob("*.json")) if (r := _row(p)) is not None]
    for row in rows:
        print(json.dumps(row))
    groups: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        test, tree, _ = str(row["run"]).rsplit("-", 2)
        groups.setdefault((test, tree), []).append(float(row["ratio"]))  # type: ignore[arg-type]
    for (test, tree), ratios in sorted(groups.items()):
        each = ", ".join(f"{r:.2f}" for r in ratios)
        median = statistics.median(ratios)
        print(
            f"{test:14} {tree:6} runs {len(ratios)} p99 during/before median {median:.2f}x ({each})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
