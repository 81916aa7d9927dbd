from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from meshgate.certs.ca import CertificateAuthority, create_root_ca, load_ca
from meshgate.certs.errors import CertError
from meshgate.certs.keys import key_to_pem


def test_root_is_a_self_signed_p256_ca_for_ten_years(now: datetime) -> None:
    ca = create_root_ca("cluster.local", now)
    cert = ca.cert
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.not_valid_after_utc == now + timedelta(days=3650)
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical
    assert bc.value.ca
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical
    assert ku.value.key_cert_sign
    assert ku.value.crl_sign
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(ca.key.public_key())


def test_a_supplied_ca_loads_back_from_its_pem(ca: CertificateAuthority) -> None:
    loaded = load_ca(ca.cert_pem, ca.key_pem())
    assert loaded.cert == ca.cert


def test_a_key_from_another_ca_is_refused_without_quoting_it(
    ca: CertificateAuthority, now: datetime
) -> None:
    other_key = key_to_pem(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(CertError, match="does not belong") as caught:
        load_ca(ca.cert_pem, other_key)
    assert other_key.splitlines()[1] not in str(caught.value)


def test_a_leaf_certificate_is_not_accepted_as_a_ca(
    ca: CertificateAuthority, now: datetime
) -> None:
    from meshgate.certs.bundle import TrustBundle
    from meshgate.certs.workload import issue_workload_certificate

    leaf = issue_workload_certificate(
        ca,
        TrustBundle.of([ca.cert]),
        trust_domain="cluster.local",
        namespace="a",
        service_account="b",
        now=now,
    )
    with pytest.raises(CertError, match="not a CA"):
        load_ca(leaf.cert_pem, leaf.key_pem)


@pytest.mark.parametrize("garbage", ["", "not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n"])
def test_an_unreadable_key_gets_a_clear_message_without_its_bytes(
    ca: CertificateAuthority, garbage: str
) -> None:
    with pytest.raises(CertError, match="not an unencrypted PEM private key") as caught:
        load_ca(ca.cert_pem, garbage)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_an_unreadable_certificate_gets_a_clear_message(ca: CertificateAuthority) -> None:
    with pytest.raises(CertError, match="not a PEM certificate"):
        load_ca("nope", ca.key_pem())


def test_ca_repr_never_shows_the_key(ca: CertificateAuthority) -> None:
    assert "PRIVATE" not in repr(ca)
    assert ca.key_pem().splitlines()[1] not in repr(ca)
