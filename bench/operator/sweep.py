"""Operator scale sweep: `bench.py` at several sizes, one fresh control plane each, and the curves.

    .venv/bin/python bench/operator/sweep.py [--points 1000x200,1000x1000,5000x1000,10000x1000]
                                             [--changes 30] [--status-timeout 300] [--render-only]

Each point `RxS` runs `bench.py --routes R --services S --changes C` (10 endpoints per Service)
and keeps its JSON document in bench/out/operator-sweep/. Then (also alone, `--render-only`)
writes bench/out/operator-sweep/TABLE.md (quoted in SWEEP.md): per point compile time,
change -> config latency (p50, p99), peak RSS and the largest persisted object, the growth
exponent between points (the k of t ~ n^k, from a log-log slope: 1 is linear), one SVG
chart per figure (drawn here: four polylines do not need a plotting library) and all of them
in one PNG, `sweep/curves.png` (matplotlib, from the bench extra).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT = REPO / "bench" / "out" / "operator-sweep"

# (figure, unit, how to read it from one bench document)
FIGURES: list[tuple[str, str, Any]] = [
    ("compile_snapshot", "s", lambda d: d["in_process"]["compile_seconds"]),
    ("change -> config p50", "s", lambda d: _change(d, "p50_seconds")),
    ("change -> config p99", "s", lambda d: _change(d, "p99_seconds")),
    ("operator peak RSS", "MiB", lambda d: d["operator_peak_rss_mib"]),
    ("largest persisted object", "KiB", lambda d: d["largest_persisted_object"]["bytes"] / 1024),
    ("gateway config JSON", "KiB", lambda d: d["config_bytes"]["gateway/bench/edge"] / 1024),
]


def _change(d: dict[str, Any], figure: str) -> float | None:
    """None when no change became visible in time (see `change_not_visible_within_seconds`)."""
    change = d.get("change_to_configmap")
    return None if change is None else float(change[figure])


def run_point(routes: int, services: int, changes: int, status_timeout: float) -> Path:
    out = OUT / f"{routes}x{services}.json"
    argv = [sys.executable, str(HERE / "bench.py"), "--routes", str(routes)]
    argv += ["--services", str(services), "--changes", str(changes), "--out", str(out)]
    argv += ["--status-timeout", str(status_timeout)]
    print("  $ " + " ".join(argv), flush=True)
    subprocess.run(argv, check=True, timeout=3600, stdout=subprocess.DEVNULL)
    return out


def exponent(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log y on log x: k in y ~ x^k."""
    pairs = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pairs) < 2:
        return None
    mx = sum(p[0] for p in pairs) / len(pairs)
    my = sum(p[1] for p in pairs) / len(pairs)
    den = sum((p[0] - mx) ** 2 for p in pairs)
    return sum((p[0] - mx) * (p[1] - my) for p in pairs) / den if den else None


def growth(k: float | None) -> str:
    if k is None:
        return "n/a"
    if k < 0.2:
        return f"flat (n^{k:.2f})"
    if k < 0.85:
        return f"sublinear (n^{k:.2f})"
    if k < 1.25:
        return f"linear (n^{k:.2f})"
    return f"superlinear (n^{k:.2f})"


def svg_chart(title: str, unit: str, series: dict[str, list[tuple[float, float]]]) -> str:
    """A small line chart: x = Routes, y = the figure, one polyline per Service count."""
    width, height, left, bottom, top, right = 520, 300, 70, 40, 30, 150
    xs = [x for points in series.values() for x, _ in points]
    ys = [y for points in series.values() for _, y in points]
    x_max, y_max = max(xs) * 1.05, max(ys) * 1.15 or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + x / x_max * plot_w

    def py(y: float) -> float:
        return top + plot_h - y / y_max * plot_h

    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="18" font-size="13">{title} ({unit}) by Routes</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>',
    ]
    for i in range(5):
        y = y_max * i / 4
        parts.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.3g}</text>')
        parts.append(
            f'<line x1="{left}" y1="{py(y):.1f}" x2="{left + plot_w}" y2="{py(y):.1f}" '
            'stroke="#ddd"/>'
        )
    for x in sorted(set(xs)):
        parts.append(
            f'<text x="{px(x):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{x:,.0f}</text>'
        )
    for n, (label, points) in enumerate(sorted(series.items())):
        colour = colours[n % len(colours)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(points))
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in points:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
        ly = top + 14 + 16 * n
        parts.append(
            f'<rect x="{width - right + 12}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
        )
        parts.append(f'<text x="{width - right + 26}" y="{ly}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _statuses(d: dict[str, Any]) -> str:
    if "cold_operator_start_to_all_route_status_seconds" in d:
        return f"{d['cold_operator_start_to_all_route_status_seconds']:.0f}"
    return f"not all in time ({d['route_statuses_written_at_timeout']:,} written)"


def render(docs: list[dict[str, Any]], charts_dir: Path) -> str:
    docs = sorted(docs, key=lambda d: (d["services"], d["routes"]))
    lines = [
        "| Routes | Services | compile (s) | change -> config p50 / p99 (s) | peak RSS (MiB) "
        "| largest persisted object | gateway config JSON | objects holding it "
        "| cold start -> config / all Route statuses (s) | load start -> end |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for d in docs:
        change = d.get("change_to_configmap")
        latency = (
            f"{change['p50_seconds']:.3f} / {change['p99_seconds']:.3f} "
            f"({change['changes']} changes)"
            if change
            else f"first change not visible within {d['change_not_visible_within_seconds']:.0f} s"
        )
        largest = d["largest_persisted_object"]
        lines.append(
            f"| {d['routes']:,} | {d['services']:,} | {d['in_process']['compile_seconds']:.2f} "
            f"| {latency} | {d['operator_peak_rss_mib']:.0f} "
            f"| {largest['bytes'] / 1024:,.0f} KiB (`{largest['name']}`) "
            f"| {d['config_bytes']['gateway/bench/edge'] / 1024:,.0f} KiB "
            f"| {len(d['gateway_config_objects'])} "
            f"| {d['cold_operator_start_to_config_seconds']:.0f} / {_statuses(d)} "
            f"| {d['load_average_start'][0]:.1f} -> {d['load_average_end'][0]:.1f} |"
        )
    lines += [
        "",
        "Growth with the number of Routes (Service count fixed at the largest swept):",
        "",
    ]
    lines += ["| figure | growth | charts |", "|---|---|---|"]
    charts_dir.mkdir(parents=True, exist_ok=True)
    top_services = max(d["services"] for d in docs)
    for title, unit, read in FIGURES:
        series: dict[str, list[tuple[float, float]]] = {}
        measured = [d for d in docs if read(d) is not None]
        for d in measured:
            series.setdefault(f"{d['services']:,} Services", []).append((d["routes"], read(d)))
        chosen = [d for d in measured if d["services"] == top_services]
        if len(chosen) < 2:  # too few points at one Service count: fit over every point
            chosen = measured
        k = exponent([d["routes"] for d in chosen], [read(d) for d in chosen])
        slug = title.replace(" ", "-").replace(">", "").replace("--", "-").lower()
        (charts_dir / f"{slug}.svg").write_text(svg_chart(title, unit, series))
        lines.append(f"| {title} | {growth(k)} | ![{title}](sweep/{slug}.svg) |")
    png_chart(docs, charts_dir / "curves.png")
    lines += ["", "![every curve](sweep/curves.png)"]
    return "\n".join(lines) + "\n"


def png_chart(docs: list[dict[str, Any]], path: Path) -> None:
    """Every figure against Routes in one PNG, one line per Service count, log-log axes (a
    straight line of slope k is growth n^k)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    for ax, (title, unit, read) in zip(axes.flat, FIGURES, strict=True):
        series: dict[int, list[tuple[float, float]]] = {}
        for d in docs:
            value = read(d)
            if value is not None:
                series.setdefault(d["services"], []).append((d["routes"], value))
        for services, points in sorted(series.items()):
            xs, ys = zip(*sorted(points), strict=True)
            ax.plot(xs, ys, marker="o", label=f"{services:,} Services")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("Routes on one Gateway")
        ax.set_ylabel(unit)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", default="1000x200,1000x1000,5000x1000,10000x1000")
    ap.add_argument("--changes", type=int, default=30)
    ap.add_argument("--render-only", action="store_true")
    ap.add_argument(
        "--status-timeout",
        type=float,
        default=300,
        help="bench.py's wait for every Route's status before the changes are timed",
    )
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.render_only:
        for point in args.points.split(","):
            routes, services = (int(v) for v in point.split("x"))
            print(f"==> {routes} Routes, {services} Services (load {os.getloadavg()[0]:.1f})")
            run_point(routes, services, args.changes, args.status_timeout)
    docs = [json.loads(p.read_text()) for p in sorted(OUT.glob("*x*.json"))]
    table = render(docs, HERE / "sweep")
    (OUT / "TABLE.md").write_text(table)  # pasted into SWEEP.md by hand, with the reading
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
