"""Expiry warnings: for a workload certificate in its last sixth of life, and for the CA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from identity_fixtures import wanted

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import create_root_ca
from meshgate.identity.plan import CaRef, PlanPolicy, plan_identities


def test_no_warning_while_certificates_are_renewed_on_time(
    ca_ref: CaRef, policy: PlanPolicy, now: datetime, issue_at
) -> None:
    want = wanted("shop", "cart")
    live = {("shop", want.secret_name): issue_at(want, now)}
    plan = plan_identities([want], live, ca_ref, policy, now + timedelta(hours=16))
    assert [i.reason for i in plan.issue] == ["renewal due"]
    assert plan.warnings == ()


def test_certificate_left_unrenewed_into_its_last_hours_is_warned_about(
    ca_ref: CaRef, policy: PlanPolicy, now: datetime, issue_at
) -> None:
    want = wanted("shop", "cart")
    live = {("shop", want.secret_name): issue_at(want, now)}
    # The operator was down from hour 15 to hour 21: 3 h left, under the 4 h threshold.
    plan = plan_identities([want], live, ca_ref, policy, now + timedelta(hours=21))
    [warning] = plan.warnings
    assert (warning.namespace, warning.secret) == ("shop", "meshgate-identity-cart")
    assert warning.subject == "spiffe://cluster.local/ns/shop/sa/cart"
    assert "expires at 2030-01-02T12:00:00Z unrenewed; re-issuing now" in warning.message


def test_ca_close_to_expiry_is_warned_about_on_its_secret(policy: PlanPolicy) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    ca = create_root_ca("cluster.local", start, validity=timedelta(days=365))
    ref = CaRef(ca, TrustBundle.of([ca.cert]), "meshgate-system", "meshgate-ca")
    quiet = plan_identities([], {}, ref, policy, start + timedelta(days=300))
    assert quiet.warnings == ()
    late = plan_identities([], {}, ref, policy, start + timedelta(days=340))
    [warning] = late.warnings
    assert (warning.namespace, warning.secret, warning.subject) == (
        "meshgate-system",
        "meshgate-ca",
        "mesh CA",
    )
    assert "rotate it" in warning.message
