"""The config server's own loop: coroutines run on its thread, not the caller's; cancelling
what `submit` returned cancels the coroutine; `stop` ends the thread."""

from __future__ import annotations

import asyncio
import threading

from meshgate.push.own_loop import OwnLoop


async def _thread() -> int:
    return threading.get_ident()


async def test_a_coroutine_runs_on_the_own_loops_thread() -> None:
    own = OwnLoop("test-config-server")
    own.start()
    try:
        assert await own.run(_thread()) not in (threading.get_ident(), None)
    finally:
        own.stop()


def test_cancelling_the_submitted_future_cancels_the_coroutine_and_stop_ends_the_thread() -> None:
    own = OwnLoop("test-config-server")
    own.start()
    started, cancelled = threading.Event(), threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    future = own.submit(forever())
    assert started.wait(5)
    future.cancel()
    assert cancelled.wait(5)
    own.stop()
    own._thread.join(5)
    assert not own._thread.is_alive()
