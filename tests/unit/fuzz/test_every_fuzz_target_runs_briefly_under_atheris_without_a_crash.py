"""`make test`'s short fuzzing smoke: every target runs under atheris for a few seconds, from its
seeds, executes inputs, reaches coverage, and finds nothing (`make fuzz` runs them for longer)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from fuzz.targets import TARGETS

REPO = Path(__file__).resolve().parents[3]
SECONDS = 3


def test_every_target_runs_briefly_without_a_crash(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fuzz.run", "--seconds", str(SECONDS), "--dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=len(TARGETS) * (SECONDS + 60),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines()[2:-1]}
    assert set(rows) == set(TARGETS), proc.stdout
    for name, row in rows.items():
        executions, coverage = int(row[2].replace(",", "")), int(row[4])
        assert executions > 0, f"{name} executed nothing:\n{proc.stdout}"
        assert coverage > 0, f"{name} reached no coverage:\n{proc.stdout}"
        assert row[-1] == "ok", proc.stdout
    assert re.search(r"0 targets crashed", proc.stdout), proc.stdout
