"""What bounds the operator's memory at a cold start, when kopf lists every watched kind: kopf
lists a page at a time and lets an object's idle worker (holding its last body) go within a
second, not kopf's 5 s; and glibc's malloc arenas are capped before any thread starts, unless
the environment chose a number itself. The figures are `bench/operator`'s peak RSS."""

from __future__ import annotations

import platform

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
