"""Every saved input replays through its target without a finding: the seeds (well-formed
messages of each format) and every input a fuzzer run ever crashed on (`fuzz/regressions/`),
so a fixed crash stays fixed."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from fuzz.seeds import SEEDS
from fuzz.targets import TARGETS

REGRESSIONS = Path(__file__).resolve().parents[3] / "fuzz" / "regressions"
SAVED = [
    pytest.param(name, path.read_bytes(), id=f"{name}/{path.name}")
    for name in TARGETS
    for path in sorted((REGRESSIONS / name).glob("*"))
]


def test_every_target_has_seeds() -> None:
    assert set(SEEDS) == set(TARGETS)
    assert all(SEEDS[name]() for name in TARGETS)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seeds_replay_without_a_finding(name: str) -> None:
    one_input = importlib.import_module(TARGETS[name].module).one_input
    for seed in SEEDS[name]():
        one_input(seed)


@pytest.mark.parametrize(("name", "data"), SAVED)
def test_crash_found_by_fuzzing_stays_fixed(name: str, data: bytes) -> None:
    importlib.import_module(TARGETS[name].module).one_input(data)
