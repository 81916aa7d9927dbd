"""Golden files for the sidecar patch (`tests/golden/inject`): refresh with
MESHGATE_UPDATE_GOLDEN=1; a mismatch fails with a unified diff of the YAML."""

from __future__ import annotations

from typing import Any

import golden_files

GOLDEN_DIR = golden_files.GOLDEN_ROOT / "inject"
CASES_DIR = GOLDEN_DIR / "cases"


def case_names() -> list[str]:
    return golden_files.case_names(CASES_DIR)


def load_case(name: str) -> dict[str, Any]:
    return golden_files.load_case(CASES_DIR, name)


def check(name: str, actual: Any) -> None:
    golden_files.check(GOLDEN_DIR / f"{name}.yaml", actual, "sidecar patch differs")
