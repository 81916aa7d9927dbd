"""Fixtures for the mesh mTLS end-to-end tests: two unrelated CAs, backends, proxy processes.

The proxy e2e helpers (`meshproxy_e2e`) are shared: their directory is put on the import path.
Every proxy a test starts through `proxies` is stopped by its PID when the test ends.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "proxy"))

from mesh_e2e import Mesh, MeshProxy
from meshproxy_e2e import Backends


@pytest.fixture(scope="session")
def mesh() -> Mesh:
    return Mesh.new()


@pytest.fixture(scope="session")
def other_mesh() -> Mesh:
    """Another CA with the same trust domain: its certificates look right and are not ours."""
    return Mesh.new()


@pytest.fixture
def backends() -> Iterator[Backends]:
    pool = Backends()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def proxies(tmp_path: Path) -> Iterator[Callable[..., MeshProxy]]:
    started: list[MeshProxy] = []

    def start(name: str, cfg: dict[str, Any], **kwargs: Any) -> MeshProxy:
        proxy = MeshProxy(tmp_path, name, cfg, **kwargs)
        started.append(proxy)
        proxy.wait_ready()
        return proxy

    try:
        yield start
    finally:
        for proxy in started:
            proxy.stop()
