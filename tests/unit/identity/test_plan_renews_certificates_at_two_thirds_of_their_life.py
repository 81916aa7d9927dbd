"""Renewal timing on a fake clock: due from 2/3 of the life counted from issuance, not before."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from identity_fixtures import wanted

from meshgate.identity.issue import identity_secret_body
from meshgate.identity.plan import CaRef, PlanPolicy, plan_identities


@pytest.mark.parametrize(
    ("elapsed", "due"),
    [
        (timedelta(hours=15, minutes=59), False),
        (timedelta(hours=16), True),
        (timedelta(hours=23), True),
    ],
)
def test_renewal_is_due_from_sixteen_hours_of_a_day_long_certificate(
    ca_ref: CaRef, policy: PlanPolicy, now: datetime, issue_at, elapsed: timedelta, due: bool
) -> None:
    want = wanted("shop", "cart")
    live = {("shop", want.secret_name): issue_at(want, now)}
    plan = plan_identities([want], live, ca_ref, policy, now + elapsed)
    assert [i.reason for i in plan.issue] == (["renewal due"] if due else [])


def test_short_certificates_are_not_due_at_once_despite_the_backdated_not_before(
    ca_ref: CaRef, now: datetime, issue_at
) -> None:
    # A 30 s certificate is backdated 5 minutes: counted from not-before it would be "due"
    # the moment it is written, and every reconcile would re-issue it.
    policy = PlanPolicy(
        trust_domain="cluster.local",
        validity=timedelta(seconds=30),
        workload_warning=timedelta(seconds=5),
        ca_warning=timedelta(days=30),
        min_check_interval=timedelta(seconds=1),
    )
    want = wanted("shop", "cart")
    body = dict(
        identity_secret_body(
            want,
            ca_ref.ca,
            ca_ref.bundle,
            trust_domain="cluster.local",
            now=now,
            validity=timedelta(seconds=30),
        )
    )
    live = {("shop", want.secret_name): body}
    early = plan_identities([want], live, ca_ref, policy, now + timedelta(seconds=5))
    assert early.issue == ()
    assert early.next_check == timedelta(seconds=15)
    late = plan_identities([want], live, ca_ref, policy, now + timedelta(seconds=20))
    assert [i.reason for i in late.issue] == ["renewal due"]


def test_next_check_is_the_earliest_renewal_of_all_identities(
    ca_ref: CaRef, policy: PlanPolicy, now: datetime, issue_at
) -> None:
    old, new = wanted("shop", "old"), wanted("shop", "new")
    live = {
        ("shop", old.secret_name): issue_at(old, now - timedelta(hours=15, minutes=30)),
        ("shop", new.secret_name): issue_at(new, now),
    }
    plan = plan_identities([old, new], live, ca_ref, policy, now)
    assert plan.issue == ()
    assert plan.next_check == timedelta(minutes=30)


def test_an_issued_identity_is_checked_again_when_its_new_certificate_comes_due(
    ca_ref: CaRef, now: datetime
) -> None:
    policy = PlanPolicy(
        trust_domain="cluster.local",
        validity=timedelta(minutes=30),
        workload_warning=timedelta(minutes=5),
        ca_warning=timedelta(days=30),
        min_check_interval=timedelta(seconds=10),
    )
    plan = plan_identities([wanted("shop", "cart")], {}, ca_ref, policy, now)
    assert plan.next_check == timedelta(minutes=20)
