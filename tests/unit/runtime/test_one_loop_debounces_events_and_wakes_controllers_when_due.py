"""The one controller runtime: a lone change runs at once, a burst is one reconcile that sees
every object it named, and changes right after a run wait for the debounce window; a controller
wakes itself when its reconcile asks; the resync forces a run; a failure is retried with what it
had to do; one controller's slow reconcile never delays another's."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import ClassVar

from meshgate.runtime import Runtime, Wake


class Fake:
    name: ClassVar[str] = "fake"

    def __init__(self, again: float | None = None, fail_first: int = 0, hold: float = 0.0) -> None:
        self.wakes: list[Wake] = []
        self.again = again
        self.fail_first = fail_first
        self.hold = hold
        self.started = threading.Event()

    def reconcile(self, wake: Wake) -> float | None:
        self.started.set()
        time.sleep(self.hold)
        self.wakes.append(wake)
        if len(self.wakes) <= self.fail_first:
            raise RuntimeError("API server unavailable")
        return self.again


class Other(Fake):
    name: ClassVar[str] = "other"


@asynccontextmanager
async def running(runtime: Runtime) -> AsyncIterator[None]:
    task = asyncio.create_task(runtime.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_burst_of_events_becomes_one_reconcile_that_sees_every_object_named() -> None:
    fake = Fake()
    runtime = Runtime(debounce=0.05, resync=3600)
    runtime.add(fake)
    async with running(runtime):
        await until(lambda: len(fake.wakes) == 1)
        assert fake.wakes[0].force  # the first run rebuilds everything
        before = time.monotonic()
        for i in range(20):
            runtime.mark("fake", ("Route", "shop", f"r{i}"))
        await until(lambda: len(fake.wakes) == 2)
        await asyncio.sleep(0.2)
    assert len(fake.wakes) == 2
    burst = fake.wakes[1]
    assert not burst.force
    assert burst.changed == {("Route", "shop", f"r{i}") for i in range(20)}
    assert before <= burst.observed_at <= before + 0.05  # the first event's time, not the last


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_lone_change_runs_at_once_and_one_right_after_a_run_waits_the_window() -> None:
    fake, clock = Fake(), Clock()
    runtime = Runtime(debounce=5.0, resync=3600, clock=clock)
    runtime.add(fake)
    async with running(runtime):
        await until(lambda: len(fake.wakes) == 1)
        clock.now += 10  # long after the start-up run: the controller is idle
        runtime.mark("fake", ("Route", "shop", "a"))
        await until(lambda: len(fake.wakes) == 2)  # no 5 s sleep in front of it
        runtime.mark("fake", ("Route", "shop", "b"))  # within the window after that run
        await asyncio.sleep(0.3)
        assert len(fake.wakes) == 2
        clock.now += 5
        runtime.mark("fake", ("Route", "shop", "c"))
        await until(lambda: len(fake.wakes) == 3)
    assert fake.wakes[2].changed == {("Route", "shop", "b"), ("Route", "shop", "c")}


async def test_a_controller_wakes_itself_when_its_reconcile_asks() -> None:
    fake = Fake(again=0.05)
    runtime = Runtime(debounce=0.01, resync=3600)
    runtime.add(fake)
    async with running(runtime):
        await until(lambda: len(fake.wakes) >= 4)
    assert not any(w.force for w in fake.wakes[1:])  # wake-ups are not resyncs


async def test_without_events_a_controller_stays_idle_until_the_forced_resync() -> None:
    fake = Fake()
    runtime = Runtime(debounce=0.01, resync=0.3)
    runtime.add(fake)
    async with running(runtime):
        await asyncio.sleep(0.2)
        assert len(fake.wakes) == 1
        await until(lambda: len(fake.wakes) == 2)
    assert fake.wakes[1].force


async def test_a_failed_reconcile_is_retried_with_backoff_keeping_what_it_had_to_do() -> None:
    fake = Fake(fail_first=2)
    runtime = Runtime(debounce=0.01, resync=3600)
    runtime.add(fake)
    started = time.monotonic()
    async with running(runtime):
        await until(lambda: len(fake.wakes) == 1)
        for _ in range(5):  # events during the backoff do not cut it short
            runtime.mark("fake", ("Route", "shop", "r"))
            await asyncio.sleep(0.05)
        await until(lambda: len(fake.wakes) == 3)
    # failed at once, again after 0.5 s, succeeded after 1 s more: no retry storm
    assert time.monotonic() - started >= 1.4
    assert all(w.force for w in fake.wakes)  # the start-up's forced run is what is retried
    assert fake.wakes[2].changed == {("Route", "shop", "r")}


async def test_events_during_a_run_start_one_more_run_after_it() -> None:
    fake = Fake(hold=0.2)
    runtime = Runtime(debounce=0.01, resync=3600)
    runtime.add(fake)
    async with running(runtime):
        await until(fake.started.is_set)
        runtime.mark("fake", ("Service", "shop", "cart"))
        runtime.mark("fake", ("Service", "shop", "web"))
        await until(lambda: len(fake.wakes) == 2)
        await asyncio.sleep(0.3)
    assert len(fake.wakes) == 2  # one at a time per controller, the two events folded
    assert fake.wakes[1].changed == {("Service", "shop", "cart"), ("Service", "shop", "web")}


async def test_a_slow_controller_never_delays_another() -> None:
    slow, quick = Fake(hold=1.0), Other()
    runtime = Runtime(debounce=0.01, resync=3600)
    runtime.add(slow)
    runtime.add(quick)
    async with running(runtime):
        await until(lambda: len(quick.wakes) == 1 and slow.started.is_set())
        runtime.mark("other", ("Route", "shop", "r"))
        await until(lambda: len(quick.wakes) == 2, within=0.8)  # while slow still runs
        assert not slow.wakes


async def test_an_event_for_a_controller_not_served_is_dropped() -> None:
    fake = Fake()
    runtime = Runtime(debounce=0.01, resync=3600)
    runtime.add(fake)
    runtime.mark("identity", ("Secret", "shop", "x"))  # not served here: ignored
    async with running(runtime):
        await until(lambda: len(fake.wakes) == 1)
        await asyncio.sleep(0.1)
    assert fake.wakes == [Wake(force=True, observed_at=fake.wakes[0].observed_at)]


async def test_a_mark_from_another_thread_is_handled_in_the_loops_thread() -> None:
    # kopf runs plain-function handlers in its thread pool; asyncio's Event is not thread-safe.
    fake = Fake()
    runtime = Runtime(debounce=0.01, resync=3600)
    seen_in: list[int] = []
    runtime.add(fake, on_queue=lambda n: seen_in.append(threading.get_ident()) if n else None)
    async with running(runtime):
        await until(lambda: len(fake.wakes) == 1)
        marker = threading.Thread(target=runtime.mark, args=("fake", ("Route", "shop", "r")))
        marker.start()
        marker.join()
        await until(lambda: len(fake.wakes) == 2)
    assert seen_in == [threading.get_ident()]
    assert fake.wakes[1].changed == {("Route", "shop", "r")}
