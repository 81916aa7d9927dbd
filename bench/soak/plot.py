"""The soak's figures from its output folder: summary.json and soak.png (RSS, open file
descriptors and latency over time, reloads and rotations marked).

Warm-up is the first `--warmup` seconds of the load; RSS growth compares the mean of the first
minute after warm-up with the mean of the last minute; FD growth compares the same windows'
maximum.

    .venv/bin/python bench/soak/plot.py bench/out/soak
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _lines(path: Path) -> list[dict[str, Any]]:
    """JSON lines, without load.py's closing summary (the windows already hold it)."""
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in records if not r.get("summary")]


def summarise(out: Path, warmup: float) -> dict[str, Any]:
    samples, windows, events = (_lines(out / f) for f in ("samples.jsonl", "windows.jsonl",
                                                            "events.jsonl"))  # fmt: skip
    start = next(e["t"] for e in events if e["event"] == "soak-start")
    warm = [s for s in samples if s["t"] - start >= warmup]
    first = [s for s in warm if s["t"] - warm[0]["t"] < 60]
    last = [s for s in warm if warm[-1]["t"] - s["t"] < 60]
    summary: dict[str, Any] = {
        "requests_ok": sum(w["ok"] for w in windows),
        "requests_failed": sum(w["failed"] for w in windows),
        "requests_shed_503": sum(w.get("shed", 0) for w in windows),
        "errors": {},
        "reloads": sum(1 for e in events if e["event"] == "reload"),
        "rotations": sum(1 for e in events if e["event"] == "rotate"),
        "duration_s": round(windows[-1]["t"] - start, 1) if windows else 0,
    }
    summary["achieved_rps"] = round(summary["requests_ok"] / max(summary["duration_s"], 1), 1)
    for w in windows:
        for why, n in w["errors"].items():
            summary["errors"][why] = summary["errors"].get(why, 0) + n
    for proxy in ("edge", "sidecar"):
        a = statistics.mean(s[f"{proxy}_rss_kib"] for s in first)
        b = statistics.mean(s[f"{proxy}_rss_kib"] for s in last)
        summary[f"{proxy}_rss_kib_after_warmup"] = round(a)
        summary[f"{proxy}_rss_kib_at_end"] = round(b)
        summary[f"{proxy}_rss_growth_pct"] = round((b - a) / a * 100, 2)
        summary[f"{proxy}_fds_after_warmup"] = max(s[f"{proxy}_fds"] for s in first)
        summary[f"{proxy}_fds_at_end"] = max(s[f"{proxy}_fds"] for s in last)
    p99 = [w["p99_ms"] for w in windows if "p99_ms" in w]
    p50 = [w["p50_ms"] for w in windows if "p50_ms" in w]
    summary["window_p50_ms_median"] = round(statistics.median(p50), 3) if p50 else None
    summary["window_p99_ms_median"] = round(statistics.median(p99), 3) if p99 else None
    summary["window_p99_ms_max"] = max(p99) if p99 else None
    summary["load1_median"] = round(statistics.median(s["load1"] for s in samples), 2)
    return summary


def plot(out: Path) -> Path:
    samples, windows, events = (_lines(out / f) for f in ("samples.jsonl", "windows.jsonl",
                                                            "events.jsonl"))  # fmt: skip
    start = next(e["t"] for e in events if e["event"] == "soak-start")

    def minutes(t: float) -> float:
        return (t - start) / 60

    fig, (rss, fds, lat) = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    for proxy in ("edge", "sidecar"):
        ts = [minutes(s["t"]) for s in samples]
        rss.plot(ts, [s[f"{proxy}_rss_kib"] / 1024 for s in samples], label=proxy)
        fds.plot(ts, [s[f"{proxy}_fds"] for s in samples], label=proxy)
    wt = [minutes(w["t"]) for w in windows if "p99_ms" in w]
    lat.plot(wt, [w["p50_ms"] for w in windows if "p99_ms" in w], label="p50")
    lat.plot(wt, [w["p99_ms"] for w in windows if "p99_ms" in w], label="p99")
    lat.set_yscale("log")
    for e in events:
        if e["event"] in ("reload", "rotate"):
            for ax in (rss, fds, lat):
                ax.axvline(
                    minutes(e["t"]),
                    color="tab:red" if e["event"] == "rotate" else "0.8",
                    linewidth=1.5 if e["event"] == "rotate" else 0.6,
                    zorder=0,
                )
    rss.set_ylabel("RSS (MiB)")
    fds.set_ylabel("open FDs")
    lat.set_ylabel("latency per 5 s window (ms)")
    lat.set_xlabel("minutes since the load started (grey: config reload, red: cert rotation)")
    for ax in (rss, fds, lat):
        ax.legend(loc="upper right")
        ax.grid(alpha=0.3)
    fig.suptitle("meshgate soak: edge gateway -> mTLS -> inbound sidecar -> app")
    fig.tight_layout()
    path = out / "soak.png"
    fig.savefig(path, dpi=90)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--warmup", type=float, default=120, help="seconds")
    args = parser.parse_args(argv)
    summary = summarise(args.out, args.warmup)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    print(plot(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
