"""`meshgate stat` and `meshgate top`: golden signals per workload, Gateway and Route, from the
proxies' own `/metrics` (stats port, through the API server's Pod proxy).

`stat` scrapes every proxy twice, `--window` seconds apart, and prints one table; `top` keeps
scraping every `--interval` seconds and redraws until interrupted (or `--iterations` runs).
Exit codes: 0 shown, 1 no proxy answered.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from meshgate.kube.rest import POD, Rest

from .kubeaccess import add_kube_flags, connect
from .output import Column, add_output_flag, render, table
from .proxies import Proxy, proxies
from .proxyaccess import STATS_PORT, Unreachable, fetch
from .signals import Sample, Signal, parse, signals

COLUMNS = (
    Column("SCOPE", "scope"),
    Column("NAMESPACE", "namespace"),
    Column("NAME", "name"),
    Column("REQUESTS", "requests"),
    Column("RPS", "rps"),
    Column("SUCCESS %", "successRate"),
    Column("P50 MS", "p50Ms"),
    Column("P95 MS", "p95Ms"),
    Column("P99 MS", "p99Ms"),
)
SCOPES = ("workload", "gateway", "route")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scope", nargs="?", choices=SCOPES, help="only this kind of row")
    parser.add_argument("--window", type=float, default=5.0, help="seconds between the two scrapes")
    add_kube_flags(parser)
    add_output_flag(parser)


def scrape(rest: Rest, items: Sequence[Proxy]) -> dict[Proxy, list[Sample]]:
    out = {}
    for p in items:
        if not p.pod_ip:
            continue
        try:
            out[p] = parse(fetch(rest, p.namespace, p.pod, STATS_PORT, "/metrics"))
        except Unreachable:
            continue
    return out


def measure(rest: Rest, namespace: str | None, window: float) -> tuple[list[Signal], int]:
    items = proxies(rest.list(POD, namespace), [])
    before = scrape(rest, items)
    started = time.monotonic()
    time.sleep(window)
    after = scrape(rest, items)
    return signals(before, after, time.monotonic() - started), len(after)


def show(found: list[Signal], answered: int, scope: str | None, fmt: str, window: float) -> str:
    rows = [s.row() for s in found if scope is None or s.scope == scope]
    text = table(rows, COLUMNS, empty="no traffic seen")
    text += f"{answered} proxies scraped over {window:g}s\n"
    return render({"window": window, "proxies": answered, "signals": rows}, fmt, text)


def run(args: argparse.Namespace) -> int:
    rest = connect(args)
    namespace = None if args.all_namespaces else args.namespace
    found, answered = measure(rest, namespace, args.window)
    sys.stdout.write(show(found, answered, args.scope, args.output, args.window))
    return 0 if answered else 1


class TopCommand:
    """`meshgate top`: `stat`, redrawn every interval."""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_arguments(parser)
        parser.add_argument(
            "--iterations", type=int, default=0, help="stop after N refreshes (0: never)"
        )

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        rest = connect(args)
        namespace = None if args.all_namespaces else args.namespace
        done = 0
        try:
            while True:
                found, answered = measure(rest, namespace, args.window)
                if sys.stdout.isatty():
                    sys.stdout.write("\x1b[H\x1b[2J")
                sys.stdout.write(time.strftime("%H:%M:%S ") + "meshgate top (Ctrl-C to stop)\n")
                sys.stdout.write(show(found, answered, args.scope, args.output, args.window))
                sys.stdout.flush()
                done += 1
                if args.iterations and done >= args.iterations:
                    return 0
        except KeyboardInterrupt:
            return 0
