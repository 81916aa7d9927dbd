"""A resync's listing replaces the store's bodies, freed by reference counting; walking the whole
frozen heap again after it (a full collection: seconds at 10,000 Routes, holding every change
that came meanwhile) is done only once the frozen heap has grown by a quarter since the last
full collection, so cycles that died frozen are still freed, and bounded."""

from __future__ import annotations

import gc
import sys
import weakref
from typing import Any

from test_reconcile_reads_the_store_and_lists_only_when_forced import _cluster, _reconciler

from meshgate.handlers.reconcile import Reconciler
from meshgate.runtime import Wake


def _resync(rec: Reconciler) -> list[int]:
    """The runtime's periodic resync, to the run after its listing ended; the generations of
    the collections made meanwhile (automatic ones off)."""
    rec.reconcile(Wake(force=True))
    assert rec.relisting is not None
    rec.relisting.join(10)
    generations: list[int] = []

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            generations.append(info["generation"])

    gc.disable()
    gc.callbacks.append(seen)
    try:
        rec.reconcile(Wake())
    finally:
        gc.callbacks.remove(seen)
        gc.enable()
    assert rec.relisting is None
    return generations


class _Cyclic:
    def __init__(self) -> None:
        self.me = self


def test_a_resync_of_an_unchanged_cluster_collects_only_the_young_generations() -> None:
    rec = _reconciler(_cluster())
    rec.run(force=True)
    try:
        generations = _resync(rec)
        assert generations  # the listing's new bodies are frozen after a young collection
        assert 2 not in generations
    finally:
        gc.unfreeze()


def test_cycles_that_died_frozen_are_freed_by_the_resync_once_the_heap_grew_by_a_quarter() -> None:
    rec = _reconciler(_cluster())
    rec.run(force=True)
    try:
        probe_cycle = _Cyclic()
        dead: list[list[Any]] = [[] for _ in range(sys.getallocatedblocks() // 4)]
        for cycle in dead:
            cycle.append(cycle)  # two allocated blocks each: the heap grows by half
        gc.freeze()  # as the end of a reconcile freezes what was alive then
        probe = weakref.ref(probe_cycle)
        del dead, cycle, probe_cycle  # reachable only through their own cycles, and frozen
        assert probe() is not None
        assert 2 in _resync(rec)
        assert probe() is None
    finally:
        gc.unfreeze()
