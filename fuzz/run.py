"""Run every fuzz target for a bounded time and print executions and coverage per target.

    python -m fuzz.run --seconds 600 [--target http1_request ...] [--dir .local/fuzz]

Each target runs as its own process (`python -m fuzz.main`; libFuzzer exits the process when
its time is up) with `-max_total_time`, a per-input timeout and an RSS limit. Its corpus lives in
`<dir>/<target>/corpus` and grows across runs; the seeds (`fuzz.seeds`) are written beside it
each run. A crash leaves its input in `<dir>/<target>/` (libFuzzer's `crash-<sha1>`), is named
in the summary, and makes the exit code 1. Coverage is libFuzzer's `cov` (edges of instrumented
Python bytecode reached) and `ft` (features: edges with hit counts).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fuzz.seeds import SEEDS
from fuzz.targets import TARGETS

REPO = Path(__file__).resolve().parents[1]
# One input taking longer than this is reported as a hang (libFuzzer's `timeout-` artifact).
INPUT_TIMEOUT_SECONDS = 10
RSS_LIMIT_MB = 1024

_COVERAGE = re.compile(r"cov: (\d+) ft: (\d+) corp: (\d+)/")
_STAT = re.compile(r"stat::(\w+):\s+(\d+)")
_ARTIFACT = re.compile(r"Test unit written to (\S+)")


@dataclass(frozen=True)
class Outcome:
    target: str
    seconds: float
    executions: int
    per_second: int
    coverage: int
    features: int
    corpus: int
    new_units: int
    crash: str | None

    def row(self) -> str:
        status = f"CRASH {self.crash}" if self.crash else "ok"
        return (
            f"{self.target:<15} {self.seconds:>6.0f} {self.executions:>11,} {self.per_second:>8,}"
            f" {self.coverage:>6} {self.features:>6} {self.corpus:>7} {self.new_units:>6}  {status}"
        )


HEADER = (
    f"{'target':<15} {'secs':>6} {'executions':>11} {'exec/s':>8} {'cov':>6} {'ft':>6}"
    f" {'corpus':>7} {'new':>6}  result"
)


def _write_seeds(target: str, into: Path) -> None:
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    for index, seed in enumerate(SEEDS[target]()):
        (into / f"seed-{index:03d}").write_bytes(seed)


def run_target(target: str, seconds: int, base: Path, nice: int) -> Outcome:
    work = base / target
    corpus, seeds = work / "corpus", work / "seeds"
    corpus.mkdir(parents=True, exist_ok=True)
    _write_seeds(target, seeds)
    argv = [
        sys.executable,
        "-m",
        "fuzz.main",
        target,
        f"-max_total_time={seconds}",
        f"-timeout={INPUT_TIMEOUT_SECONDS}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        "-print_final_stats=1",
        f"-artifact_prefix={work}/",
        str(corpus),
        str(seeds),
    ]
    if nice:
        argv = ["nice", "-n", str(nice), *argv]
    log = work / "last-run.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        # The time limit is libFuzzer's; this one only catches a run that never ends.
        proc = subprocess.run(
            argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, timeout=seconds + 300
        )
    text = log.read_text(errors="replace")
    stats = {k: int(v) for k, v in _STAT.findall(text)}
    coverage = _COVERAGE.findall(text)
    cov, ft, corp = (int(x) for x in coverage[-1]) if coverage else (0, 0, 0)
    crash = None
    if proc.returncode != 0:
        artifact = _ARTIFACT.search(text)
        crash = artifact.group(1) if artifact else f"exit {proc.returncode}, see {log}"
    return Outcome(
        target,
        time.monotonic() - started,
        stats.get("number_of_executed_units", 0),
        stats.get("average_exec_per_sec", 0),
        cov,
        ft,
        corp,
        stats.get("new_units_added", 0),
        crash,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="per target (default 60)")
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), default=None)
    parser.add_argument("--dir", type=Path, default=REPO / ".local" / "fuzz")
    parser.add_argument("--nice", type=int, default=0, help="run the targets under nice -n N")
    args = parser.parse_args(argv)
    targets = args.target or list(TARGETS)
    print(f"==> [fuzz] {len(targets)} targets, {args.seconds}s each, corpus in {args.dir}")
    print(HEADER, flush=True)
    outcomes = []
    for target in targets:
        outcome = run_target(target, args.seconds, args.dir.resolve(), args.nice)
        outcomes.append(outcome)
        print(outcome.row(), flush=True)
    crashed = [o for o in outcomes if o.crash]
    total = sum(o.executions for o in outcomes)
    print(f"==> [fuzz] {total:,} executions, {len(crashed)} targets crashed")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
