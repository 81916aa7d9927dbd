"""Watch the config file and hand every changed version to a callback.

A mounted ConfigMap is updated by swapping a symlink, so the file's inode changes while its path
does not: the watcher polls `os.stat` of the path (which follows the links) about once a
second and compares (device, inode, mtime, size). No extra dependency, and it works the same on
every filesystem.

This module must never parse config; it only notices that the file changed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

Signature = tuple[int, int, int, int]


def signature(path: str) -> Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


class ConfigWatcher:
    def __init__(self, path: str, on_change: Callable[[], None], interval: float = 1.0) -> None:
        self._path = path
        self._on_change = on_change
        self._interval = interval
        self._last = signature(path)
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._handle = asyncio.get_running_loop().call_later(self._interval, self._poll)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _poll(self) -> None:
        current = signature(self._path)
        if current is not None and current != self._last:
            self._last = current
            self._on_change()
        self.start()
