"""The webhook's shared serving identity: its Secret round-trips, the leaf is reissued at 2/3 of
its life or when it misses a name, always from the same CA (so the caBundle stays valid), and a
replica called by URL serves a leaf of its own from that CA."""

from __future__ import annotations

import base64
import ssl
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from meshgate.certs.errors import CertError
from meshgate.inject.serving_identity import (
    CA_KEY,
    Endpoint,
    WebhookIdentity,
    leaf_problem,
    leaf_to_serve,
    new_identity,
    read_secret,
    renewed,
    secret_body,
    served_pem,
)

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SERVICE = Endpoint("meshgate-webhook", "meshgate-system")
BY_URL = Endpoint("meshgate-webhook", "meshgate-system", url_host="10.1.2.3")


@pytest.fixture(scope="module")
def identity() -> WebhookIdentity:
    return new_identity(SERVICE, NOW)


SERVICE_NAME = x509.DNSName("meshgate-webhook.meshgate-system.svc")


def _verify(
    identity: WebhookIdentity, cert_pem: str, name: x509.GeneralName, at: datetime = NOW
) -> None:
    leaf = x509.load_pem_x509_certificate(cert_pem.encode())
    verifier = PolicyBuilder().store(Store([identity.ca.cert])).time(at)
    verifier.build_server_verifier(name).verify(leaf, [])  # type: ignore[arg-type]


def test_secret_round_trips_the_ca_and_the_leaf(identity: WebhookIdentity) -> None:
    body = secret_body(identity, name="meshgate-webhook-tls", namespace="meshgate-system")
    assert body["type"] == "kubernetes.io/tls"
    assert set(body["data"]) == {"tls.crt", "tls.key", "ca.crt", CA_KEY}
    back = read_secret(dict(body))
    assert back.ca_pem == identity.ca_pem
    assert back.serving.cert_pem == identity.serving.cert_pem
    assert back.serving.dns_names == identity.serving.dns_names
    assert back.serving.not_after == identity.serving.not_after


def test_leaf_verifies_for_the_service_name_against_the_ca(identity: WebhookIdentity) -> None:
    _verify(identity, identity.serving.cert_pem, SERVICE_NAME)
    assert identity.ca.not_after - NOW > timedelta(days=3000)  # the caBundle outlives leaves
    assert identity.serving.not_after == NOW + timedelta(days=365)


def test_keys_appear_in_no_repr_label_or_annotation(identity: WebhookIdentity) -> None:
    body = secret_body(identity, name="s", namespace="ns")
    assert "PRIVATE" not in repr(identity)
    assert "PRIVATE" not in repr(body["metadata"])


def test_leaf_is_good_until_two_thirds_of_its_life(identity: WebhookIdentity) -> None:
    assert leaf_problem(identity.serving, SERVICE, NOW) is None
    assert leaf_problem(identity.serving, SERVICE, NOW + timedelta(days=240)) is None
    problem = leaf_problem(identity.serving, SERVICE, NOW + timedelta(days=244))
    assert problem is not None
    assert "due for renewal" in problem


def test_leaf_that_misses_the_service_name_is_reissued(identity: WebhookIdentity) -> None:
    problem = leaf_problem(identity.serving, Endpoint("other", "meshgate-system"), NOW)
    assert problem is not None
    assert "other.meshgate-system.svc" in problem


def test_renewal_keeps_the_ca_so_old_and_new_leaves_both_verify(
    identity: WebhookIdentity,
) -> None:
    later = NOW + timedelta(days=250)
    fresh = renewed(identity, SERVICE, later)
    assert fresh.ca_pem == identity.ca_pem
    assert fresh.serving.cert_pem != identity.serving.cert_pem
    assert fresh.serving.not_after == later + timedelta(days=365)
    for pem in (identity.serving.cert_pem, fresh.serving.cert_pem):
        _verify(fresh, pem, SERVICE_NAME, at=later)


def test_service_replicas_serve_the_shared_leaf(identity: WebhookIdentity) -> None:
    assert leaf_to_serve(identity, SERVICE, NOW) is identity.serving


def test_replica_called_by_url_serves_its_own_leaf_for_its_address(
    identity: WebhookIdentity,
) -> None:
    own = leaf_to_serve(identity, BY_URL, NOW)
    assert own.cert_pem != identity.serving.cert_pem
    assert own.ip_addresses == ("10.1.2.3",)
    _verify(identity, own.cert_pem, x509.IPAddress(ip_address("10.1.2.3")))
    # Kept while good; reissued when the CA changed under it.
    assert leaf_to_serve(identity, BY_URL, NOW, own) is own
    other = new_identity(SERVICE, NOW)
    assert leaf_to_serve(other, BY_URL, NOW, own).ca_pem == other.ca_pem


def test_the_shared_leaf_never_names_one_replicas_address() -> None:
    assert new_identity(BY_URL, NOW).serving.ip_addresses == ()


def test_served_file_holds_key_and_certificate_that_tls_loads_as_one(
    identity: WebhookIdentity, tmp_path: Path
) -> None:
    path = tmp_path / "tls.pem"
    path.write_bytes(served_pem(identity.serving))
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(path, path)


def _tampered(identity: WebhookIdentity, **data: str) -> dict[str, object]:
    secret = secret_body(identity, name="s", namespace="ns")
    changed = {k.replace("_", "."): v for k, v in data.items()}
    return {**secret, "data": {**secret["data"], **changed}}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_broken_secrets_are_refused_without_showing_their_bytes(
    identity: WebhookIdentity,
) -> None:
    foreign = new_identity(SERVICE, NOW)
    cases: list[tuple[dict[str, object], str]] = [
        ({"data": {}}, "lacks tls.crt"),
        (_tampered(identity, tls_crt=_b64(foreign.serving.cert_pem)), "not issued by the CA"),
        (_tampered(identity, tls_key=_b64(foreign.serving.key_pem)), "does not belong"),
        (_tampered(identity, ca_key=_b64(foreign.ca.key_pem())), "CA key does not belong"),
        (_tampered(identity, tls_crt="%%%"), "not base64"),
    ]
    for body, message in cases:
        with pytest.raises(CertError, match=message) as err:
            read_secret(body)
        assert "PRIVATE" not in str(err.value)


def test_an_expired_leaf_is_due(identity: WebhookIdentity) -> None:
    expired = replace(identity.serving, not_after=NOW - timedelta(seconds=1))
    assert leaf_problem(expired, SERVICE, NOW) is not None
