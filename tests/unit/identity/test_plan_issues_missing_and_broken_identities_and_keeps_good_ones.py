"""The plan re-issues exactly the identity Secrets a proxy could not use as they are."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

from identity_fixtures import wanted

from meshgate.identity.plan import CaRef, PlanPolicy, plan_identities


def test_missing_secret_is_issued(ca_ref: CaRef, policy: PlanPolicy, now: datetime) -> None:
    plan = plan_identities([wanted("shop", "cart")], {}, ca_ref, policy, now)
    assert [(i.identity.secret_name, i.reason) for i in plan.issue] == [
        ("meshgate-identity-cart", "missing")
    ]
    assert plan.delete == ()


def test_fresh_secret_is_kept_and_checked_again_at_two_thirds_of_its_life(
    ca_ref: CaRef, policy: PlanPolicy, now: datetime, issue_at
) -> None:
    want = wanted("shop", "cart")
    live = {("shop", "meshgate-identity-cart"): issue_at(want, now)}
    plan = plan_identities([want], live, ca_ref, policy, now + timedelta(hours=1))
    assert plan.issue == ()
    # Issued at `now` for 24 h: renewal is due at now + 16 h, 15 h from the check; the check
    # interval is capped at an hour.
    assert plan.next_check == timedelta(hours=1)


def test_secret_with_a_key_of_another_certificate_is_reissued(
    ca_ref: CaRef, policy: PlanPolicy, now: datetime, issue_at
) -> None:
    want = wanted("shop", "cart")
    body = issue_at(want, now)
    body["data"]["tls.key"] = issue_at(want, now)["data"]["tls.key"]
    plan = plan_identities([want], {("shop", want.secret_name): body}, ca_ref, policy, now)
    assert [i.reason for i in plan.issue] == ["invalid: tls.key does not belong to tls.crt"]


def test_secret_naming_another_identity_is_reissued(
    ca_ref: CaRef, policy: PlanPolicy, now: datetime, issue_at
) -> None:
    want = wanted("shop", "cart")
    foreign = issue_at(wanted("shop", "other"), now)
    plan = plan_identities([want], {("shop", want.secret_name): foreign}, ca_ref, policy, now)
    assert len(plan.issue) == 1
    assert plan.issue[0].reason.startswith("invalid: tls.crt names")


def test_reasons_never_carry_key_material(
    ca_ref: CaRef, policy: PlanPolicy, now: datetime, issue_at
) -> None:
    want = wanted("shop", "cart")
    body = issue_at(want, now)
    key_pem = base64.b64decode(body["data"]["tls.key"]).decode()
    body["data"]["tls.crt"] = body["data"]["tls.key"]  # a key where the certificate belongs
    plan = plan_identities([want], {("shop", want.secret_name): body}, ca_ref, policy, now)
    reason = plan.issue[0].reason
    assert "PRIVATE KEY" not in reason
    assert key_pem.splitlines()[1] not in reason
    assert body["data"]["tls.key"] not in reason
