from __future__ import annotations

import base64
import copy
from datetime import datetime, timedelta

import pytest

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import CertificateAuthority, create_root_ca
from meshgate.certs.errors import CertError
from meshgate.certs.secret import (
    SecretBody,
    ca_secret,
    identity_secret,
    identity_secret_name,
    read_ca_secret,
    read_identity_secret,
)
from meshgate.certs.workload import IssuedCertificate, issue_workload_certificate

TD = "cluster.local"
SPIFFE = "spiffe://cluster.local/ns/shop/sa/frontend"


@pytest.fixture
def issued(ca: CertificateAuthority, bundle: TrustBundle, now: datetime) -> IssuedCertificate:
    return issue_workload_certificate(
        ca, bundle, trust_domain=TD, namespace="shop", service_account="frontend", now=now
    )


@pytest.fixture
def body(issued: IssuedCertificate) -> SecretBody:
    return identity_secret(
        issued, name="meshgate-identity-frontend", namespace="shop", service_account="frontend"
    )


def _as_dict(body: SecretBody) -> dict[str, object]:
    return copy.deepcopy(dict(body))


def _set(body: SecretBody, key: str, pem: str) -> dict[str, object]:
    out = _as_dict(body)
    data = out["data"]
    assert isinstance(data, dict)
    data[key] = base64.b64encode(pem.encode()).decode()
    return out


def test_body_is_a_managed_tls_secret_annotated_with_identity_and_expiry(
    body: SecretBody, issued: IssuedCertificate
) -> None:
    assert body["type"] == "kubernetes.io/tls"
    assert set(body["data"]) == {"tls.crt", "tls.key", "ca.crt"}
    assert body["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "meshgate"
    annotations = body["metadata"]["annotations"]
    assert annotations["meshgate.io/identity"] == SPIFFE
    assert annotations["meshgate.io/not-after"] == issued.not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert base64.b64decode(body["data"]["tls.key"]).decode() == issued.key_pem


def test_key_material_appears_only_in_tls_key(body: SecretBody, issued: IssuedCertificate) -> None:
    without_data = {k: v for k, v in body.items() if k != "data"}
    key_line = issued.key_pem.splitlines()[1]
    assert key_line not in repr(without_data)
    assert key_line not in base64.b64decode(body["data"]["tls.crt"]).decode()


def test_a_valid_secret_reads_back_as_its_identity_and_dates(
    body: SecretBody, issued: IssuedCertificate, bundle: TrustBundle, now: datetime
) -> None:
    got = read_identity_secret(
        _as_dict(body), trust_domain=TD, expected_spiffe_id=SPIFFE, bundle=bundle, now=now
    )
    assert got.spiffe_id == SPIFFE
    assert got.not_after == issued.not_after
    assert got.not_before == issued.not_before


def test_a_secret_for_another_identity_is_rejected(body: SecretBody) -> None:
    with pytest.raises(CertError, match="expected"):
        read_identity_secret(
            _as_dict(body), trust_domain=TD, expected_spiffe_id=SPIFFE.replace("frontend", "x")
        )


def test_a_secret_from_another_trust_domain_is_rejected(body: SecretBody) -> None:
    with pytest.raises(CertError, match="trust domain"):
        read_identity_secret(_as_dict(body), trust_domain="other.local")


def test_a_key_that_does_not_match_is_rejected_without_quoting_either_key(
    body: SecretBody,
    ca: CertificateAuthority,
    bundle: TrustBundle,
    now: datetime,
) -> None:
    stranger = issue_workload_certificate(
        ca, bundle, trust_domain=TD, namespace="shop", service_account="frontend", now=now
    )
    broken = _set(body, "tls.key", stranger.key_pem)
    with pytest.raises(CertError, match="does not belong") as caught:
        read_identity_secret(broken, trust_domain=TD)
    assert stranger.key_pem.splitlines()[1] not in str(caught.value)


def test_a_certificate_from_a_dropped_root_is_rejected(body: SecretBody, now: datetime) -> None:
    other = create_root_ca(TD, now)
    with pytest.raises(CertError, match="not issued by any root"):
        read_identity_secret(_as_dict(body), trust_domain=TD, bundle=TrustBundle.of([other.cert]))


def test_an_expired_certificate_is_rejected(body: SecretBody, issued: IssuedCertificate) -> None:
    with pytest.raises(CertError, match="expired"):
        read_identity_secret(
            _as_dict(body), trust_domain=TD, now=issued.not_after + timedelta(seconds=1)
        )


def test_a_chain_in_tls_crt_is_rejected(body: SecretBody, issued: IssuedCertificate) -> None:
    broken = _set(body, "tls.crt", issued.cert_pem + issued.ca_bundle_pem)
    with pytest.raises(CertError, match="2 certificates"):
        read_identity_secret(broken, trust_domain=TD)


@pytest.mark.parametrize("missing", ["tls.crt", "tls.key", "ca.crt"])
def test_a_secret_missing_a_key_says_which(body: SecretBody, missing: str) -> None:
    broken = _as_dict(body)
    data = broken["data"]
    assert isinstance(data, dict)
    del data[missing]
    with pytest.raises(CertError, match=missing.replace(".", r"\.")):
        read_identity_secret(broken, trust_domain=TD)


def test_bad_base64_is_reported(body: SecretBody) -> None:
    broken = _as_dict(body)
    data = broken["data"]
    assert isinstance(data, dict)
    data["tls.crt"] = "!!!"
    with pytest.raises(CertError, match="base64"):
        read_identity_secret(broken, trust_domain=TD)


def test_ca_secret_round_trips_the_ca_and_the_whole_bundle(
    ca: CertificateAuthority, bundle: TrustBundle, now: datetime
) -> None:
    new_ca = create_root_ca(TD, now)
    overlap = bundle.with_root(new_ca.cert)
    body = ca_secret(new_ca, overlap, name="meshgate-ca", namespace="meshgate-system")
    loaded, loaded_bundle = read_ca_secret(dict(body))  # type: ignore[arg-type]
    assert loaded.cert == new_ca.cert
    assert loaded_bundle.roots == (ca.cert, new_ca.cert)


def test_a_user_ca_secret_without_ca_crt_trusts_the_ca_itself(ca: CertificateAuthority) -> None:
    body: dict[str, object] = {
        "data": {
            "tls.crt": base64.b64encode(ca.cert_pem.encode()).decode(),
            "tls.key": base64.b64encode(ca.key_pem().encode()).decode(),
        }
    }
    _, bundle = read_ca_secret(body)
    assert bundle.roots == (ca.cert,)


def test_secret_names_stay_within_kubernetes_limits_and_distinct() -> None:
    assert identity_secret_name("web") == "meshgate-identity-web"
    long_a, long_b = "a" * 250, "a" * 249 + "b"
    assert len(identity_secret_name(long_a)) <= 253
    assert identity_secret_name(long_a) != identity_secret_name(long_b)
