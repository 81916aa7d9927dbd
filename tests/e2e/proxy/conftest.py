"""Fixtures for meshproxy end-to-end tests: backends and a port for the proxy's listener."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from meshproxy_e2e import Backends, free_port


@pytest.fixture
def backends() -> Iterator[Backends]:
    pool = Backends()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def port() -> int:
    return free_port()
