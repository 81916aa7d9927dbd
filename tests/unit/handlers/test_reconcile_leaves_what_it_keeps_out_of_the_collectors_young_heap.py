"""What a reconcile keeps between runs (the compiler's stages, the store's bodies) is frozen out
of the cyclic collector once the run ends, after a collection of the youngest generation: else
every full collection during the next compile walks all of it again."""

from __future__ import annotations

import gc

from test_reconcile_reads_the_store_and_lists_only_when_forced import (
    _cluster,
    _reconciler,
    _route,
    _served_paths,
)


def _young(obj: object) -> bool:
    """Whether the collector still scans `obj` (frozen objects are in no generation)."""
    return any(o is obj for o in gc.get_objects())


def test_the_compilers_stages_kept_by_a_change_reconcile_are_frozen() -> None:
    api = _cluster()
    rec = _reconciler(api)
    rec.run(force=True)
    rec.store.observe("Route", "MODIFIED", api.put(_route("orders", "/carts")))
    gc.unfreeze()
    try:
        rec.run()
        assert _served_paths(api) == {"/carts"}
        stages = list(rec.compiler._gateways.values())
        assert stages
        assert not any(_young(stage) for stage in stages)
    finally:
        gc.unfreeze()


def test_a_cycle_that_died_during_a_reconcile_is_collected_not_frozen() -> None:
    api = _cluster()
    rec = _reconciler(api)
    rec.run(force=True)
    gc.unfreeze()
    gc.disable()  # only the reconcile's own collection may find the cycle
    try:
        collected = []

        class Cyclic:
            def __init__(self) -> None:
                self.me = self

            def __del__(self) -> None:
                collected.append(True)

        Cyclic()  # garbage, reachable only through its own cycle
        rec.store.observe("Route", "MODIFIED", api.put(_route("orders", "/carts")))
        rec.run()
        assert collected == [True]
    finally:
        gc.enable()
        gc.unfreeze()
