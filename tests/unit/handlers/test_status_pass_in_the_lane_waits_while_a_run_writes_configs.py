"""The status lane's pass and a reconcile both need the interpreter: while a run compiles and
writes configs, the pass in the lane's thread waits for it, and goes on once it ends. (At 10,000
Routes the previous change's pass cost as much CPU as the next change's compile, which then
took twice as long.)"""

from __future__ import annotations

import threading
from typing import Any

from fake_kube_api import FakeKubeApi
from test_reconcile_reads_the_store_and_lists_only_when_forced import (
    NS,
    _cluster,
    _reconciler,
    _route,
    _served_paths,
)

from meshgate.kube.cluster_state import read_state


class _SlowApply(FakeKubeApi):
    """Applies of generated objects wait for `gate` once it is closed: a run that writes."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def apply(self, obj: dict[str, Any], *, status: bool = False) -> dict[str, Any]:
        if not status and obj.get("kind") == "ConfigMap":
            self.entered.set()
            assert self.gate.wait(10), "the apply was never released"
        return super().apply(obj, status=status)


def test_the_lanes_status_pass_waits_for_a_run_writing_configs_then_goes_on() -> None:
    api = _SlowApply()
    for body in _cluster().objects.values():
        api.put(body)
    rec = _reconciler(api)
    rec.start_status_lane(rate=0)
    assert rec.lane is not None
    try:
        rec.run(force=True)
        assert rec.lane.idle(10)
        earlier = rec.compiler.compile(read_state(rec.store, rec.settings, rec.parsed).snapshot)

        api.gate.clear()
        api.entered.clear()
        rec.store.observe("Route", "MODIFIED", api.put(_route("orders", "/carts")))
        run = threading.Thread(target=rec.run)
        run.start()
        assert api.entered.wait(10)  # the run is writing the changed config

        done = threading.Event()
        found: list[Any] = []

        def lane_like() -> None:  # a status pass in a thread other than the run's
            found.extend(earlier.statuses)
            done.set()

        threading.Thread(target=lane_like).start()
        assert not done.wait(0.3)  # it waits while the run writes
        api.gate.set()
        run.join(10)
        assert done.wait(10)  # the run ended: the pass goes on
        assert any(s.key == ("Route", NS, "orders") for s in found)
        assert _served_paths(api) == {"/carts"}
    finally:
        api.gate.set()
        rec.close()


def test_a_status_pass_in_the_runs_own_thread_never_waits() -> None:
    """Without the lane the run writes statuses itself: its own pass must not wait for it."""
    api = _cluster()
    rec = _reconciler(api)
    rec.compiler.pause_statuses = rec._yield_to_run  # as the lane would set it
    rec.idle = _Counted()
    rec.idle.set()
    rec.run(force=True)
    rec.store.observe("Route", "MODIFIED", api.put(_route("orders", "/carts")))
    summary = rec.run()  # its statuses are made in the run's thread
    assert summary["status_written"] >= 1
    assert _served_paths(api) == {"/carts"}
    assert rec.idle.waits == 0


class _Counted(threading.Event):
    waits = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        return super().wait(timeout)
