"""Fixtures for the pure identity code: a fixed clock, a mesh CA, and Secrets issued at a time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from identity_fixtures import TRUST_DOMAIN, VALIDITY

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import CertificateAuthority, create_root_ca
from meshgate.identity.issue import identity_secret_body
from meshgate.identity.meshed import WantedIdentity
from meshgate.identity.plan import CaRef, PlanPolicy


@pytest.fixture
def now() -> datetime:
    return datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def module_ca() -> CertificateAuthority:
    return create_root_ca(TRUST_DOMAIN, datetime(2029, 12, 1, tzinfo=UTC))


@pytest.fixture
def ca_ref(module_ca: CertificateAuthority) -> CaRef:
    return CaRef(
        ca=module_ca,
        bundle=TrustBundle.of([module_ca.cert]),
        namespace="meshgate-system",
        secret="meshgate-ca",
    )


@pytest.fixture
def policy() -> PlanPolicy:
    return PlanPolicy(
        trust_domain=TRUST_DOMAIN,
        validity=VALIDITY,
        workload_warning=VALIDITY / 6,
        ca_warning=timedelta(days=30),
        min_check_interval=timedelta(seconds=10),
    )


IssueAt = Callable[..., dict[str, Any]]


@pytest.fixture
def issue_at(ca_ref: CaRef) -> IssueAt:
    """The Secret the reconcile would have written for `want` at `when`."""

    def issue(want: WantedIdentity, when: datetime, ca: CaRef | None = None) -> dict[str, Any]:
        ref = ca or ca_ref
        body = identity_secret_body(
            want, ref.ca, ref.bundle, trust_domain=TRUST_DOMAIN, now=when, validity=VALIDITY
        )
        return dict(body)

    return issue
