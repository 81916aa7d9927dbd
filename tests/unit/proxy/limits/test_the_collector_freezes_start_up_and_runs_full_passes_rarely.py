"""Once the proxy serves, what start-up built is frozen out of the collector's passes and full
passes come ten times rarer; the young generations keep CPython's thresholds."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from meshproxy.limits import collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    before = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_full_passes_are_rarer_and_the_young_thresholds_unchanged() -> None:
    assert collector.thresholds((700, 10, 10)) == (700, 10, collector.FULL_PASS_EVERY)
    assert collector.FULL_PASS_EVERY > 10  # CPython's default


def test_a_rarer_full_pass_already_set_is_kept() -> None:
    assert collector.thresholds((2000, 20, 1000)) == (2000, 20, 1000)


def test_settling_freezes_what_survives_start_up(restored_collector: None) -> None:
    built_at_start_up = [{"route": i} for i in range(1000)]
    gc.unfreeze()
    collector.settle()
    assert gc.get_freeze_count() >= len(built_at_start_up)
    assert gc.get_threshold()[2] == collector.FULL_PASS_EVERY
    # A frozen object is not walked by a full pass: it is not in any generation.
    assert not any(o is built_at_start_up[0] for o in gc.get_objects(generation=2))
