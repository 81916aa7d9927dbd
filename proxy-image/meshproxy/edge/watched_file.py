"""A small file from a mounted Secret (API keys, a JWKS), parsed, and re-read when it changes.

The file is read once when the config is built and then whenever its (device, inode, mtime,
size) signature changes -- a Secret update swaps a symlink, so the inode changes -- polled about
once a second by `meshproxy.reload.ConfigWatcher`. A file that cannot be read or parsed is
logged with the parser's message and the last good value keeps serving: a bad rotation must not
log every client out. Before any good read, `value` is None and whatever uses it fails closed.

This module must never log the file's content; parsers' messages must not carry it either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from meshproxy.reload import ConfigWatcher

log = logging.getLogger("meshproxy.edge")

T = TypeVar("T")

MAX_BYTES = 1024 * 1024  # keys files and key sets are kilobytes; more is a mistake


class WatchedFile(Generic[T]):
    __slots__ = ("_parse", "_watcher", "path", "reads", "value", "what")

    def __init__(
        self, path: str, parse: Callable[[bytes], T], what: str, interval: float = 1.0
    ) -> None:
        self.path = path
        self.what = what  # e.g. "API keys file", for the log
        self._parse = parse
        self.value: T | None = None
        self.reads = 0  # successful reads, for tests
        self._watcher = ConfigWatcher(path, self.load, interval)
        self.load()

    def start(self) -> None:
        self._watcher.start()

    def close(self) -> None:
        self._watcher.stop()

    def load(self) -> None:
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
            if len(raw) > MAX_BYTES:
                raise ValueError(f"larger than {MAX_BYTES} bytes")
            value = self._parse(raw)
        except OSError as exc:
            self._refuse(exc.strerror or type(exc).__name__)
            return
        except ValueError as exc:
            self._refuse(str(exc))
            return
        self.value = value
        self.reads += 1
        log.info("%s %s loaded", self.what, self.path)

    def _refuse(self, why: str) -> None:
        kept = "keeping the last good one" if self.value is not None else "nothing accepted yet"
        log.error("%s %s unusable (%s); %s", self.what, self.path, why, kept)
