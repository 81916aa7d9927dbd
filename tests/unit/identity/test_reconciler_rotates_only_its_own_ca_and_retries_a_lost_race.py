"""The identity reconciler's CA rotation step, against a recording stand-in for the API: a
requested rotation writes the CA Secret with the resourceVersion it read and posts an Event; a
write that lost a race (409) is an error retried on the next pass, with no Event; a user's CA is
never read for rotation, let alone written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import create_root_ca
from meshgate.certs.ca_rotation import PHASE_ANNOTATION, REQUEST_ANNOTATION, TRUSTING_BOTH
from meshgate.certs.secret import ca_secret
from meshgate.identity.plan import IdentityPlan
from meshgate.identity.reconcile import IdentityReconciler, Outcome
from meshgate.kube.rest import KubeError
from meshgate.settings import IdentitySettings, Settings

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SETTLED = IdentityPlan(issue=(), delete=(), warnings=(), next_check=timedelta(hours=1))


class RecordingKube:
    def __init__(self, secret: dict[str, Any], conflict: bool = False) -> None:
        self.secret = secret
        self.conflict = conflict
        self.calls: list[tuple[str, Any]] = []

    def read(self, kind: Any, namespace: str, name: str) -> dict[str, Any] | None:
        self.calls.append(("read", name))
        return self.secret

    def replace(self, kind: Any, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("replace", body))
        if self.conflict:
            raise KubeError(409, "Conflict", "PUT secret")
        return {**body, "metadata": {**body["metadata"], "uid": "u-1"}}

    def create(self, kind: Any, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("create", body))
        return body


def _requested_ca_secret() -> dict[str, Any]:
    ca = create_root_ca("cluster.local", NOW - timedelta(days=1))
    body: dict[str, Any] = dict(
        ca_secret(ca, TrustBundle.of([ca.cert]), name="meshgate-ca", namespace="meshgate-system")
    )
    body["metadata"] = {**body["metadata"], "resourceVersion": "41"}
    body["metadata"]["annotations"] = {**body["metadata"]["annotations"], REQUEST_ANNOTATION: "now"}
    return body


def _reconciler(kube: RecordingKube, env: dict[str, str] | None = None) -> IdentityReconciler:
    settings = Settings.from_env({"MESHGATE_OPERATOR_NAMESPACE": "meshgate-system", **(env or {})})
    identity = IdentitySettings.from_env(env or {})
    return IdentityReconciler(kube=kube, settings=settings, identity=identity)  # type: ignore[arg-type]


def test_a_requested_rotation_writes_the_secret_it_read_and_posts_an_event() -> None:
    kube = RecordingKube(_requested_ca_secret())
    outcome = Outcome(next_check=timedelta(hours=1))
    _reconciler(kube)._rotate_ca(SETTLED, outcome, NOW)

    (_, written), (_, event) = [c for c in kube.calls if c[0] != "read"]
    assert written["metadata"]["resourceVersion"] == "41"
    assert written["metadata"]["annotations"][PHASE_ANNOTATION] == TRUSTING_BOTH
    assert (event["reason"], event["involvedObject"]["uid"]) == ("CARotationStarted", "u-1")
    assert outcome.errors == []
    assert outcome.next_check == timedelta(minutes=10)  # back when the overlap is over


def test_a_write_that_lost_a_race_is_an_error_retried_later_and_posts_no_event() -> None:
    kube = RecordingKube(_requested_ca_secret(), conflict=True)
    outcome = Outcome(next_check=timedelta(hours=1))
    _reconciler(kube)._rotate_ca(SETTLED, outcome, NOW)

    assert [c[0] for c in kube.calls] == ["read", "replace"]
    assert len(outcome.errors) == 1
    assert "409" in outcome.errors[0]


def test_a_users_ca_is_never_rotated() -> None:
    kube = RecordingKube(_requested_ca_secret())
    outcome = Outcome(next_check=timedelta(hours=1))
    _reconciler(kube, {"MESHGATE_CA_SOURCE": "existing"})._rotate_ca(SETTLED, outcome, NOW)
    assert kube.calls == []
    assert outcome == Outcome(next_check=timedelta(hours=1))
