"""The operator's CA rotation, step by step on a fake clock: a request (or the CA nearing its
expiry) adds a new root beside the old one while the old CA still signs; after every identity
Secret settled and the overlap passed, the new CA signs; after the same again, the old root is
retired. Nothing moves while identity Secrets are still being re-issued or the overlap runs."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import create_root_ca
from meshgate.certs.ca_rotation import (
    FINGERPRINT_ANNOTATION,
    ISSUING_FROM_NEW,
    NEXT_KEY,
    PHASE_ANNOTATION,
    REQUEST_ANNOTATION,
    TRUSTING_BOTH,
    fingerprint,
    step_ca_rotation,
)
from meshgate.certs.secret import ca_secret, read_ca_secret

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
OVERLAP = timedelta(minutes=10)
LEAD = timedelta(days=30)


def _secret(annotations: dict[str, str] | None = None) -> dict[str, Any]:
    ca = create_root_ca("cluster.local", T0 - timedelta(days=1))
    body: dict[str, Any] = dict(
        ca_secret(ca, TrustBundle.of([ca.cert]), name="meshgate-ca", namespace="m")
    )
    body["metadata"] = {**body["metadata"], "resourceVersion": "7"}
    body["metadata"]["annotations"] = {**body["metadata"]["annotations"], **(annotations or {})}
    return body


def _step(body: dict[str, Any], now: datetime, settled_since: datetime | None = T0) -> Any:
    return step_ca_rotation(
        body,
        settled_since=settled_since,
        now=now,
        overlap=OVERLAP,
        lead=LEAD,
        trust_domain="cluster.local",
    )


def _roots(body: dict[str, Any]) -> tuple[x509.Certificate, ...]:
    return TrustBundle.from_pem(base64.b64decode(body["data"]["ca.crt"])).roots


def test_nothing_happens_without_a_request_or_a_near_expiry() -> None:
    step = _step(_secret(), T0)
    assert (step.body, step.reason, step.wait) == (None, "", None)


def test_a_requested_rotation_walks_three_steps_and_ends_trusting_only_the_new_root() -> None:
    start = _secret({REQUEST_ANNOTATION: "please"})
    old, _ = read_ca_secret(start)

    step1 = _step(start, T0)
    assert step1.reason == "CARotationStarted"
    body1 = step1.body
    assert body1 is not None
    annotations = body1["metadata"]["annotations"]
    assert annotations[PHASE_ANNOTATION] == TRUSTING_BOTH
    assert REQUEST_ANNOTATION not in annotations  # the request is consumed
    assert body1["metadata"]["resourceVersion"] == "7"  # a concurrent write makes ours fail
    signing, _ = read_ca_secret(body1)
    assert signing.cert == old.cert  # the old CA still signs
    roots = _roots(body1)
    assert len(roots) == 2
    assert roots[0] == old.cert
    new_root = roots[1]
    assert fingerprint(new_root) in step1.message
    assert "BEGIN" not in step1.message

    # Identity Secrets not yet re-issued with both roots, or the overlap not over: wait.
    assert _step(body1, T0 + OVERLAP * 2, settled_since=None).body is None
    waiting = _step(body1, T0 + timedelta(minutes=4), settled_since=T0 + timedelta(minutes=1))
    assert waiting.body is None
    assert waiting.wait == OVERLAP - timedelta(minutes=3)

    t2 = T0 + timedelta(minutes=12)
    step2 = _step(body1, t2, settled_since=T0 + timedelta(minutes=1))
    assert step2.reason == "CARotationIssuing"
    body2 = step2.body
    assert body2 is not None
    signing, bundle = read_ca_secret(body2)
    assert signing.cert == new_root  # the new CA signs now
    assert bundle.roots == (old.cert, new_root)  # and both are still trusted
    assert NEXT_KEY not in body2["data"]
    assert body2["metadata"]["annotations"][PHASE_ANNOTATION] == ISSUING_FROM_NEW
    assert body2["metadata"]["annotations"][FINGERPRINT_ANNOTATION] == fingerprint(new_root)

    assert _step(body2, t2 + OVERLAP / 2, settled_since=t2).body is None
    step3 = _step(body2, t2 + OVERLAP + timedelta(seconds=1), settled_since=t2)
    assert step3.reason == "CARotationCompleted"
    body3 = step3.body
    assert body3 is not None
    assert _roots(body3) == (new_root,)  # the old root is retired
    assert PHASE_ANNOTATION not in body3["metadata"]["annotations"]
    assert fingerprint(old.cert) in step3.message
    assert _step(body3, t2 + OVERLAP * 3).body is None  # and it is over


def test_a_ca_within_the_lead_of_its_expiry_rotates_by_itself() -> None:
    body = _secret()
    old, _ = read_ca_secret(body)
    near = old.not_after - LEAD + timedelta(hours=1)
    step = _step(body, near)
    assert step.reason == "CARotationStarted"
    assert "expires" in step.message
