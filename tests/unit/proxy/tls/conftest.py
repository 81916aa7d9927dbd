"""Fixtures for the proxy TLS tests: two independent mesh CAs (ours and a stranger's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tls_harness import TD, Mesh

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import create_root_ca


@pytest.fixture(scope="session")
def mesh() -> Mesh:
    ca = create_root_ca(TD, datetime.now(UTC) - timedelta(days=1))
    return Mesh(ca, TrustBundle.of([ca.cert]))


@pytest.fixture(scope="session")
def other_mesh() -> Mesh:
    ca = create_root_ca(TD, datetime.now(UTC) - timedelta(days=1))
    return Mesh(ca, TrustBundle.of([ca.cert]))
