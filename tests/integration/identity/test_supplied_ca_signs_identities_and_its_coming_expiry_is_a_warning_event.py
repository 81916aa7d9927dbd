"""A CA the user supplies (MESHGATE_CA_SECRET) signs identities and is never written by the
controller; when it is within the warning window of expiry, a Warning Event lands on its
Secret, once, with a message that names the date and no key material."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from identity_harness import call, create_service_account, eventually, get, leaf, secret_path
from kubernetes.client import ApiClient

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import create_root_ca
from meshgate.certs.secret import ca_secret


def test_supplied_ca_is_used_and_its_expiry_is_warned_about(
    api_client: ApiClient, meshed_namespace: str, identity_controller
) -> None:
    ns = meshed_namespace
    ca = create_root_ca("cluster.local", datetime.now(UTC), validity=timedelta(days=10))
    body = dict(ca_secret(ca, TrustBundle.of([ca.cert]), name="user-ca", namespace=ns))
    body["metadata"] = {"name": "user-ca", "namespace": ns}  # the user's, not ours
    call(api_client, "POST", secret_path(ns), body=body)
    stored = get(api_client, secret_path(ns, "user-ca"))
    assert stored is not None

    identity_controller(MESHGATE_CA_SECRET="user-ca")
    identity = eventually(
        lambda: get(api_client, secret_path(ns, "meshgate-identity-default")),
        timeout=30,
        what="an identity signed by the supplied CA",
    )
    leaf(identity).verify_directly_issued_by(ca.cert)
    # A leaf never outlives its issuer.
    assert leaf(identity).not_valid_after_utc <= ca.not_after

    def warnings() -> list[dict[str, object]]:
        events = call(api_client, "GET", f"/api/v1/namespaces/{ns}/events")["items"]
        return [
            e
            for e in events
            if e["reason"] == "CertificateExpiring" and e["involvedObject"]["name"] == "user-ca"
        ]

    [event] = eventually(warnings, timeout=30, what="a CertificateExpiring Warning Event")
    assert event["type"] == "Warning"
    assert ca.not_after.strftime("%Y-%m-%dT%H:%M:%SZ") in event["message"]
    assert "PRIVATE KEY" not in event["message"]
    # Another reconcile (a new account) posts no second warning for the same certificate.
    create_service_account(api_client, ns, "cart")
    eventually(
        lambda: get(api_client, secret_path(ns, "meshgate-identity-cart")),
        timeout=30,
        what="a later reconcile",
    )
    assert len(warnings()) == 1
    assert get(api_client, secret_path(ns, "meshgate-ca")) is None
    after = get(api_client, secret_path(ns, "user-ca"))
    assert after is not None
    assert after["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
