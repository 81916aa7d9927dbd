"""Golden files under `tests/golden/`: one switch to refresh them (`MESHGATE_UPDATE_GOLDEN=1`),
and a unified diff of the YAML on mismatch, so a reviewer reads the change itself.

Imported as a top-level module: `tests/unit/conftest.py` puts this directory on `sys.path`.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

GOLDEN_ROOT = Path(__file__).resolve().parents[1] / "golden"


def case_names(cases_dir: Path) -> list[str]:
    return sorted(p.stem for p in cases_dir.glob("*.yaml"))


def load_case(cases_dir: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((cases_dir / f"{name}.yaml").read_text())
    return data


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)


def check(path: Path, actual: Any, differs: str) -> None:
    """Compare `actual`, as YAML, with the golden file at `path` (or rewrite it when refreshing);
    `differs` starts the failure message, e.g. "sidecar patch differs"."""
    text = dump(actual)
    if os.environ.get("MESHGATE_UPDATE_GOLDEN") == "1":
        path.write_text(text)
        return
    if not path.exists():
        pytest.fail(f"no golden file {path}; run with MESHGATE_UPDATE_GOLDEN=1 to create it")
    expected = path.read_text()
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=str(path.relative_to(GOLDEN_ROOT.parent)),
                tofile="actual",
            )
        )
        pytest.fail(f"{differs} from {path}:\n{diff}")
