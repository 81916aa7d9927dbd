"""Golden files for generated identity objects: refresh with MESHGATE_UPDATE_GOLDEN=1.

A mismatch fails with a unified diff of the YAML, so a reviewer reads the change itself.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "golden" / "identity"
CASES_DIR = GOLDEN_DIR / "cases"


def case_names() -> list[str]:
    return sorted(p.stem for p in CASES_DIR.glob("*.yaml"))


def load_case(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CASES_DIR / f"{name}.yaml").read_text())
    return data


def check(name: str, actual: Any) -> None:
    path = GOLDEN_DIR / f"{name}.yaml"
    text = yaml.safe_dump(actual, sort_keys=False, default_flow_style=False, width=100)
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
                fromfile=f"golden/identity/{path.name}",
                tofile="actual",
            )
        )
        pytest.fail(f"generated NetworkPolicies differ from {path}:\n{diff}")
