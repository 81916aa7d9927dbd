"""Fixtures for the pure certificate code: a fixed clock and a mesh CA created at it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import CertificateAuthority, create_root_ca

TRUST_DOMAIN = "cluster.local"


@pytest.fixture
def now() -> datetime:
    return datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def module_ca() -> CertificateAuthority:
    return create_root_ca(TRUST_DOMAIN, datetime(2029, 12, 1, tzinfo=UTC))


@pytest.fixture
def ca(module_ca: CertificateAuthority) -> CertificateAuthority:
    return module_ca


@pytest.fixture
def bundle(ca: CertificateAuthority) -> TrustBundle:
    return TrustBundle.of([ca.cert])
