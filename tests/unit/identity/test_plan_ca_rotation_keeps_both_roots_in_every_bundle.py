"""A CA rotation in three steps (add the new root, sign with the new CA, drop the old root):
every step re-issues identities so each Secret carries the bundle of that step, and while the
bundle holds both roots, old and new certificates alike verify."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from identity_fixtures import wanted

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import CertificateAuthority, create_root_ca
from meshgate.identity.plan import CaRef, PlanPolicy, plan_identities


def _roots(body: dict[str, Any]) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(base64.b64decode(body["data"]["ca.crt"]))


def _leaf(body: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(base64.b64decode(body["data"]["tls.crt"]))


def test_rotation_steps_reissue_with_overlapping_bundles(
    module_ca: CertificateAuthority, ca_ref: CaRef, policy: PlanPolicy, now: datetime, issue_at
) -> None:
    want = wanted("shop", "cart")
    key = ("shop", want.secret_name)
    before = issue_at(want, now)
    new_ca = create_root_ca("cluster.local", now)

    # Step 1: the bundle gains the new root; the old CA still signs.
    step1 = CaRef(module_ca, ca_ref.bundle.with_root(new_ca.cert), ca_ref.namespace, "meshgate-ca")
    plan = plan_identities([want], {key: before}, step1, policy, now + timedelta(minutes=1))
    assert [i.reason for i in plan.issue] == ["trust bundle changed"]
    during = issue_at(want, now + timedelta(minutes=1), step1)
    assert _roots(during) == [module_ca.cert, new_ca.cert]

    # Step 2: the new CA signs; the bundle keeps both roots, so the old leaf still verifies.
    step2 = CaRef(new_ca, step1.bundle, ca_ref.namespace, "meshgate-ca")
    plan = plan_identities([want], {key: during}, step2, policy, now + timedelta(minutes=2))
    assert [i.reason for i in plan.issue] == ["issued by a previous CA"]
    after = issue_at(want, now + timedelta(minutes=2), step2)
    assert _roots(after) == [module_ca.cert, new_ca.cert]
    _leaf(during).verify_directly_issued_by(module_ca.cert)
    _leaf(after).verify_directly_issued_by(new_ca.cert)
    assert plan_identities([want], {key: after}, step2, policy, now).issue == ()

    # Step 3: the old root leaves the bundle; Secrets are rewritten without it.
    step3 = CaRef(new_ca, step2.bundle.without_root(module_ca.cert), ca_ref.namespace, "ca")
    plan = plan_identities([want], {key: after}, step3, policy, now + timedelta(minutes=3))
    assert [i.reason for i in plan.issue] == ["trust bundle changed"]
    assert _roots(issue_at(want, now, step3)) == [new_ca.cert]


def test_certificate_from_a_root_dropped_from_the_bundle_is_reissued(
    module_ca: CertificateAuthority, ca_ref: CaRef, policy: PlanPolicy, now: datetime, issue_at
) -> None:
    want = wanted("shop", "cart")
    old = issue_at(want, now)
    new_ca = create_root_ca("cluster.local", now)
    ref = CaRef(new_ca, TrustBundle.of([new_ca.cert]), ca_ref.namespace, ca_ref.secret)
    plan = plan_identities([want], {("shop", want.secret_name): old}, ref, policy, now)
    assert [i.reason for i in plan.issue] == [
        "invalid: tls.crt was not issued by any root in the current trust bundle"
    ]
