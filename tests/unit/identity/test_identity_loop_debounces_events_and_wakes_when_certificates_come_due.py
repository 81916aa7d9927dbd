"""The identity loop: a burst of events is one reconcile, a reconcile's next check wakes the
loop with no event at all, and a failing reconcile is retried."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from meshgate.identity.handlers import IdentityLoop
from meshgate.identity.reconcile import Outcome


class FakeReconciler:
    def __init__(self, next_check: timedelta, fail_first: int = 0) -> None:
        self.runs = 0
        self.next_check = next_check
        self.fail_first = fail_first

    def run(self) -> Outcome:
        self.runs += 1
        if self.runs <= self.fail_first:
            raise RuntimeError("API server unavailable")
        return Outcome(next_check=self.next_check)


async def _run_for(loop: IdentityLoop, seconds: float) -> None:
    task = asyncio.create_task(loop.run())
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_burst_of_events_becomes_one_reconcile() -> None:
    fake = FakeReconciler(next_check=timedelta(hours=1))
    loop = IdentityLoop(fake, debounce=0.05, resync=3600)  # type: ignore[arg-type]
    task = asyncio.create_task(loop.run())
    await asyncio.sleep(0.2)  # the start-up reconcile
    assert fake.runs == 1
    for _ in range(20):
        loop.mark()
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert fake.runs == 2


async def test_the_loop_wakes_itself_when_the_plan_says_a_certificate_comes_due() -> None:
    fake = FakeReconciler(next_check=timedelta(seconds=0.1))
    await _run_for(IdentityLoop(fake, debounce=0.01, resync=3600), 0.5)  # type: ignore[arg-type]
    assert fake.runs >= 3


async def test_without_events_or_due_certificates_the_loop_stays_idle() -> None:
    fake = FakeReconciler(next_check=timedelta(hours=1))
    await _run_for(IdentityLoop(fake, debounce=0.01, resync=3600), 0.5)  # type: ignore[arg-type]
    assert fake.runs == 1


async def test_a_failed_reconcile_is_retried_without_an_event() -> None:
    fake = FakeReconciler(next_check=timedelta(hours=1), fail_first=2)
    await _run_for(IdentityLoop(fake, debounce=0.01, resync=3600), 2.5)  # type: ignore[arg-type]
    assert fake.runs == 3  # failed, failed (after 0.5 s), succeeded (after 1 s more)
