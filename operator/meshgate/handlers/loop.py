"""The debounced reconcile loop: events only mark the cluster dirty; one task reconciles.

A burst of events within the debounce window becomes one reconcile. A reconcile that fails is
retried with backoff (the cluster stays dirty). Resync marks the cluster dirty with `force`, so
drift (a deleted or edited generated object) is repaired even when no event arrives.
"""

from __future__ import annotations

import asyncio
import logging

from .reconcile import Reconciler

log = logging.getLogger("meshgate.loop")


class DirtyLoop:
    def __init__(self, reconciler: Reconciler, debounce: float) -> None:
        self.reconciler = reconciler
        self.debounce = debounce
        self._dirty = asyncio.Event()
        self._force = False
        self._pending = 0

    def mark(self, *, force: bool = False) -> None:
        """Called by every watch event; must stay O(1) and never block."""
        self._pending += 1
        self.reconciler.metrics.queue_depth = self._pending
        self._force = self._force or force
        self._dirty.set()

    async def run(self) -> None:
        backoff = 0.5
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self.debounce)  # let the rest of the burst arrive
            self._dirty.clear()
            force, self._force = self._force, False
            self._pending = 0
            self.reconciler.metrics.queue_depth = 0
            try:
                await asyncio.to_thread(self.reconciler.run, force=force)
                backoff = 0.5
            except Exception:
                log.warning("reconcile failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                self._force = self._force or force
                self._dirty.set()
