"""Every golden case compiles and renders to exactly its stored expectation."""

from __future__ import annotations

import pytest
from golden_cases import case_names, check_golden, render_case


@pytest.mark.parametrize("name", case_names())
def test_snapshot_compiles_to_golden_output(name: str) -> None:
    check_golden(name, render_case(name))


def test_there_are_at_least_25_golden_cases() -> None:
    assert len(case_names()) >= 25
