"""One debounced loop with wake-up times that runs every controller of the operator.

Watch events only mark a controller dirty (O(1), never blocking) and say which object moved. A
change to an idle controller runs at once (no sleep in front of a lone change); events that come
while a run goes, or within the debounce window after it ended, fold into exactly one next run,
which starts a debounce window after the previous one ended. A controller's reconcile runs in
a worker thread (the Kubernetes client is synchronous), at most one at a time per controller,
while the others go on: a slow identity pass never delays a Route change. Each reconcile says
when it next wants to run without an event (a certificate coming due, an injector's check);
every controller also runs, forced, at least once per resync interval so drift is repaired when
no event arrives. A reconcile that raises is retried with backoff, its wake kept.

Knows nothing of kopf, Kubernetes or what a controller does: the watch registry
(`meshgate.handlers.watches`) marks, the controllers reconcile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

log = logging.getLogger("meshgate.runtime")

Key = tuple[str, str, str]  # (kind, namespace, name) of an object a watch event moved

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0


@dataclass(frozen=True)
class Wake:
    """Why a reconcile runs. `force`: start-up or resync, rebuild and re-apply everything (the
    server turns unchanged applies into no-ops). `changed`: the objects marked since the last
    run; complete only when `force` is false."""

    force: bool = False
    changed: frozenset[Key] = frozenset()
    # Monotonic time of the earliest event folded into this run (its start when none was).
    observed_at: float = 0.0


class Controller(Protocol):
    name: ClassVar[str]  # unique among the served controllers; names its log lines

    def reconcile(self, wake: Wake) -> float | None:
        """Bring the cluster to the desired state; the seconds until this controller wants to
        run again without an event, or None (only events and the resync wake it)."""


@dataclass
class _Slot:
    controller: Controller
    dirty: bool = False
    force: bool = False
    changed: set[Key] = field(default_factory=set)
    marks: int = 0  # events folded into the next run
    first_mark: float | None = None  # when the earliest of them arrived
    wake_at: float | None = None  # the controller's own wake-up
    resync_at: float = 0.0  # forced run due (0: at start)
    backoff: float = FIRST_BACKOFF
    not_before: float = 0.0  # after a failure: no run before the backoff ends, events or not
    last_end: float = float("-inf")  # when the last run ended
    task: asyncio.Task[None] | None = None

    def next_time(self, debounce: float) -> float:
        """When this slot must run next (idle slots only)."""
        when = self.resync_at
        if self.wake_at is not None:
            when = min(when, self.wake_at)
        if self.dirty:
            when = min(when, self.last_end + debounce)
        return max(when, self.not_before)


class Runtime:
    def __init__(
        self,
        *,
        debounce: float,
        resync: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.debounce = debounce
        self.resync = resync
        self.clock = clock
        self._slots: dict[str, _Slot] = {}
        self._wakeup = asyncio.Event()
        self._queue_observers: dict[str, Callable[[int], None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None  # set by run()

    def add(self, controller: Controller, *, on_queue: Callable[[int], None] | None = None) -> None:
        """Serve `controller` from now on; its first run is forced. `on_queue` is told how many
        events wait for its next run (a gauge on /metrics)."""
        if controller.name in self._slots:
            raise ValueError(f"controller {controller.name!r} is already served")
        self._slots[controller.name] = _Slot(controller, force=True, resync_at=self.clock())
        if on_queue is not None:
            self._queue_observers[controller.name] = on_queue
        self._wakeup.set()

    @property
    def controllers(self) -> tuple[str, ...]:
        return tuple(self._slots)

    def pending(self, name: str) -> frozenset[Key]:
        """The objects marked for controller `name` since its last run started."""
        slot = self._slots.get(name)
        return frozenset(slot.changed) if slot is not None else frozenset()

    def mark(self, name: str, key: Key | None = None, *, force: bool = False) -> None:
        """An event for controller `name` (ignored when it is not served). O(1), never blocks:
        every watch event calls it. From another thread it hops to the loop's: asyncio's Event
        is not thread-safe, and a set() from elsewhere would wait for the loop's next wake-up."""
        loop = self._loop
        if loop is not None and not _running_in(loop):
            loop.call_soon_threadsafe(self._mark, name, key, force)
        else:
            self._mark(name, key, force)

    def _mark(self, name: str, key: Key | None, force: bool) -> None:
        slot = self._slots.get(name)
        if slot is None:
            return
        slot.dirty = True
        slot.force = slot.force or force
        if key is not None:
            slot.changed.add(key)
        slot.marks += 1
        if slot.first_mark is None:
            slot.first_mark = self.clock()
        if (observe := self._queue_observers.get(name)) is not None:
            observe(slot.marks)
        self._wakeup.set()

    async def run(self) -> None:
        """Until cancelled (then every running reconcile's task is cancelled too; its thread
        finishes on its own)."""
        self._loop = asyncio.get_running_loop()
        try:
            while True:
                await self._wait_for_work()
                now = self.clock()
                for slot in self._slots.values():
                    if slot.task is None and slot.next_time(self.debounce) <= now:
                        self._start(slot, now)
        finally:
            tasks = [s.task for s in self._slots.values() if s.task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _wait_for_work(self) -> None:
        """Until a mark, a run's end, or the earliest time an idle controller is due."""
        idle = [s for s in self._slots.values() if s.task is None]
        timeout = None
        if idle:
            timeout = max(0.0, min(s.next_time(self.debounce) for s in idle) - self.clock())
        if timeout is None or timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=timeout)
        self._wakeup.clear()

    def _start(self, slot: _Slot, now: float) -> None:
        wake = Wake(
            force=slot.force or now >= slot.resync_at,
            changed=frozenset(slot.changed),
            observed_at=now if slot.first_mark is None else slot.first_mark,
        )
        slot.dirty, slot.force, slot.changed, slot.marks = False, False, set(), 0
        slot.first_mark = None
        if (observe := self._queue_observers.get(slot.controller.name)) is not None:
            observe(0)
        slot.task = asyncio.create_task(
            self._reconcile(slot, wake), name=f"meshgate-{slot.controller.name}"
        )

    async def _reconcile(self, slot: _Slot, wake: Wake) -> None:
        name = slot.controller.name
        try:
            again = await asyncio.to_thread(slot.controller.reconcile, wake)
        except Exception as exc:
            # Our errors' messages are key-free; a traceback's locals never print.
            log.warning("%s reconcile failed (%s); retrying in %.1fs", name, exc, slot.backoff)
            slot.not_before = slot.wake_at = self.clock() + slot.backoff
            slot.backoff = min(slot.backoff * 2, MAX_BACKOFF)
            # What this run should have done stays to do, at the retry and not before.
            slot.force = slot.force or wake.force
            slot.changed |= wake.changed
            if slot.first_mark is None or wake.observed_at < slot.first_mark:
                slot.first_mark = wake.observed_at
        else:
            slot.backoff, slot.not_before = FIRST_BACKOFF, 0.0
            now = self.clock()
            slot.wake_at = None if again is None else now + again
            if wake.force:
                slot.resync_at = now + self.resync
        finally:
            slot.task = None
            slot.last_end = self.clock()
            self._wakeup.set()  # events that came during the run, and the next wake-up


def _running_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:  # no loop in this thread
        return False
