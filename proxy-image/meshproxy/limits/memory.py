"""The memory ceiling: past it the proxy refuses new connections and sheds new requests.

Like Envoy's overload manager, but with one resource and two actions. The resident size is read
from `/proc/self/statm` on a timer (every `SAMPLE_SECONDS`), never per request: a connection
only reads the `over` flag. The ceiling is a setting, or 90 % of the container's cgroup memory
limit, so the proxy sheds load before the kernel kills it.

Resident size is what the kernel counts against the limit, but Python keeps freed memory in its
arenas: once over, the proxy asks glibc to hand free pages back (`malloc_trim`) on each sample,
and clears the flag only below `RESUME_FRACTION` of the ceiling, so it does not flap.

This module reads files and calls libc; it never touches a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

SAMPLE_SECONDS = 0.25
CGROUP_FRACTION = 0.9
RESUME_FRACTION = 0.95
# Answers held for slow clients (`http1.sink`) may fill the proxy up to this share of the
# ceiling: buffering alone never takes it to where it sheds. With no ceiling, at most
# NO_CEILING_BUFFER_BYTES are held at once.
BUFFER_SHARE = 0.75
NO_CEILING_BUFFER_BYTES = 64 * 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE")
# cgroup v2, then v1; the first that names a limit wins.
CGROUP_LIMIT_FILES = (
    "/sys/fs/cgroup/memory.max",
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
)
_NO_LIMIT_V1 = 1 << 60  # v1 writes a huge number for "no limit"


def parse_cgroup_limit(text: str) -> int | None:
    """Bytes from a cgroup memory limit file; None for `max` or v1's "unlimited" number."""
    text = text.strip()
    if not text or text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 < value < _NO_LIMIT_V1 else None


def cgroup_limit(files: tuple[str, ...] = CGROUP_LIMIT_FILES) -> int | None:
    for name in files:
        with contextlib.suppress(OSError):
            limit = parse_cgroup_limit(Path(name).read_text())
            if limit is not None:
                return limit
    return None


def ceiling_bytes(setting: int | None, container_limit: int | None) -> int:
    """The ceiling in bytes, 0 for none: the setting when given, else a share of the limit."""
    if setting is not None:
        return setting
    if container_limit is None:
        return 0
    return int(container_limit * CGROUP_FRACTION)


def resident_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * _PAGE


def _malloc_trim() -> None:
    # Imported here, only once over the ceiling: ctypes.util alone holds ~1 MiB of every idle proxy.
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).malloc_trim(0)


class MemoryCeiling:
    __slots__ = ("_fresh", "_handle", "buffered", "ceiling", "over", "resident", "times_over")

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling  # 0: off
        self.over = False
        self.resident = 0
        self.times_over = 0  # transitions into `over`, for the metric
        self.buffered = 0  # bytes of answers held for slow clients now (`take`, `give`)
        self._fresh = 0  # bytes taken since the last sample, which the sample did not see
        self._handle: asyncio.TimerHandle | None = None

    def take(self, size: int) -> bool:
        """Count `size` more bytes of answers held for slow clients, or say there is no room
        (the answer's upstream is then paused instead). Against the ceiling when there is one:
        the last sample plus what was taken since must stay under its buffering share."""
        if self.ceiling:
            if self.over or self.resident + self._fresh + size > self.ceiling * BUFFER_SHARE:
                return False
            self._fresh += size
        elif self.buffered + size > NO_CEILING_BUFFER_BYTES:
            return False
        self.buffered += size
        return True

    def give(self, size: int) -> None:
        """Held bytes the client has taken (or that went with its connection)."""
        self.buffered -= size

    def observe(self, resident: int) -> None:
        """Decide from one sample; pure apart from the flag."""
        self.resident = resident
        self._fresh = 0
        if not self.ceiling:
            self.over = False
        elif resident >= self.ceiling:
            if not self.over:
                self.times_over += 1
            self.over = True
        elif resident < self.ceiling * RESUME_FRACTION:
            self.over = False

    def start(self) -> None:
        if self.ceiling and self._handle is None:
            self._sample()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _sample(self) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            self.observe(resident_bytes())
            if self.over:
                _malloc_trim()
        self._handle = asyncio.get_running_loop().call_later(SAMPLE_SECONDS, self._sample)
