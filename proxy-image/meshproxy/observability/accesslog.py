"""The JSON access log: one line per request, buffered and flushed off the hot path.

Lines are appended to a list and written by a periodic flush (and at shutdown), so a request
costs one line's formatting (`accessline`) and a list append, never a syscall. The buffer is
bounded: above `MAX_BUFFERED` lines a flush happens at once.

This module must never log anything but access lines, and never raise into a request.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import IO, Any

MAX_BUFFERED = 2048
FLUSH_SECONDS = 0.2


class AccessLog:
    def __init__(self, path: str) -> None:
        self._path = path
        self._lines: list[str] = []
        self._stream: IO[str] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode

    def write(self, record: dict[str, Any]) -> None:
        self.write_line(self._dumps(record))

    def write_line(self, line: str) -> None:
        """One JSON line, already encoded (`accessline.AccessLine`)."""
        self._lines.append(line)
        if len(self._lines) >= MAX_BUFFERED:
            self.flush()
        elif self._handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._handle = loop.call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        self._handle = None
        if not self._lines:
            return
        lines, self._lines = self._lines, []
        lines.append("")  # the last line's newline, without copying the joined text again
        try:
            stream = self._open()
            stream.write("\n".join(lines))
            stream.flush()
        except OSError:
            pass  # a full disk or closed stdout must not take requests down

    def _open(self) -> IO[str]:
        if self._stream is None:
            if self._path == "-":
                self._stream = sys.stdout
            else:
                fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                self._stream = os.fdopen(fd, "a", encoding="utf-8")
        return self._stream

    def close(self) -> None:
        self.flush()
        if self._stream is not None and self._stream is not sys.stdout:
            self._stream.close()
        self._stream = None
