"""Identity Secrets nobody needs any more are deleted; the ones still wanted are not."""

from __future__ import annotations

from datetime import datetime

from identity_fixtures import wanted

from meshgate.identity.plan import CaRef, Delete, PlanPolicy, plan_identities


def test_identity_of_a_service_account_no_longer_meshed_is_deleted(
    ca_ref: CaRef, policy: PlanPolicy, now: datetime, issue_at
) -> None:
    kept, gone = wanted("shop", "cart"), wanted("shop", "legacy")
    live = {
        ("shop", kept.secret_name): issue_at(kept, now),
        ("shop", gone.secret_name): issue_at(gone, now),
        ("other", gone.secret_name): issue_at(gone, now),
    }
    plan = plan_identities([kept], live, ca_ref, policy, now)
    assert plan.issue == ()
    assert plan.delete == (
        Delete("other", "meshgate-identity-legacy"),
        Delete("shop", "meshgate-identity-legacy"),
    )


def test_nothing_is_deleted_while_every_identity_is_wanted(
    ca_ref: CaRef, policy: PlanPolicy, now: datetime, issue_at
) -> None:
    want = wanted("shop", "cart")
    plan = plan_identities(
        [want], {("shop", want.secret_name): issue_at(want, now)}, ca_ref, policy, now
    )
    assert plan.delete == ()
