"""What bounds the operator's memory at a cold start, when kopf lists every watched kind: kopf
lists a page at a time and lets an object's idle worker (holding its last body) go within a
second, not kopf's 5 s; glibc's malloc arenas are capped before any thread starts, and its mmap
threshold stays fixed (a large block freed no longer moves the next ones into the heap), unless
the environment chose a number itself. The figures are `bench/operator`'s peak RSS."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import kopf
import pytest

from meshgate.handlers import run
from meshgate.handlers.startup import configure_kopf
from meshgate.settings import Settings


def test_kopf_lists_in_pages_and_lets_idle_object_workers_go_soon() -> None:
    kopf_settings = kopf.OperatorSettings()
    assert kopf_settings.watching.chunk_size is None  # kopf's default: each whole list at once
    assert kopf_settings.queueing.idle_timeout == 5.0
    configure_kopf(kopf_settings, Settings())
    assert kopf_settings.watching.chunk_size is not None
    assert 0 < kopf_settings.watching.chunk_size <= 500
    assert kopf_settings.queueing.idle_timeout <= 1.0


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_malloc_arenas_are_capped_unless_the_environment_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert run.limit_malloc_arenas()
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not run.limit_malloc_arenas()


# Where a 1 MiB buffer allocated after another was freed lives: in the heap (glibc raised its
# threshold past 1 MiB) or in pages of its own.
SECOND_BLOCK = """
import ctypes, sys
from meshgate.handlers import run
if sys.argv[1] == "fixed":
    assert run.fix_mmap_threshold()
def in_heap(buf):
    addr = ctypes.addressof((ctypes.c_char * 1).from_buffer(buf))
    for line in open("/proc/self/maps"):
        if "[heap]" in line:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            return lo <= addr < hi
    return False
first = bytearray(1 << 20)
del first
print("heap" if in_heap(bytearray(1 << 20)) else "own pages")
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
@pytest.mark.parametrize(("threshold", "where"), [("glibc's", "heap"), ("fixed", "own pages")])
def test_a_large_block_freed_moves_the_next_into_the_heap_only_without_the_fixed_threshold(
    threshold: str, where: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-c", SECOND_BLOCK, threshold],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == where


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_the_mmap_threshold_is_left_to_the_environment_when_it_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert not run.fix_mmap_threshold()
