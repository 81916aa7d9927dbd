"""The config server's own event loop, in its own thread.

kopf's event loop runs every watch handler of the operator: at a start-up it takes every Pod,
Service, EndpointSlice and Secret of the cluster through them, hundreds of callbacks, and in
steady state every event a change causes. A proxy's poll answered on that loop waited behind
them (bench/delivery: a restarted operator answered its 33 proxies over 0.3-0.8 s). On a loop of
its own the config server waits only for the interpreter's lock, which Python hands over every
few milliseconds. Nothing here knows what runs on the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class OwnLoop:
    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Run `coro` on this loop (from any other thread); cancelling the future cancels it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` run on this loop, from another loop."""
        return await asyncio.wrap_future(self.submit(coro))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
