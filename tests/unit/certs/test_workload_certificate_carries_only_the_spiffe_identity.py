from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import CertificateAuthority, create_root_ca
from meshgate.certs.errors import CertError
from meshgate.certs.workload import IssuedCertificate, issue_workload_certificate

TD = "cluster.local"


def _issue(
    ca: CertificateAuthority, bundle: TrustBundle, now: datetime, **kw: object
) -> IssuedCertificate:
    args: dict[str, object] = {
        "trust_domain": TD,
        "namespace": "shop",
        "service_account": "frontend",
        "now": now,
    }
    args.update(kw)
    return issue_workload_certificate(ca, bundle, **args)  # type: ignore[arg-type]


def _leaf(issued: IssuedCertificate) -> x509.Certificate:
    return x509.load_pem_x509_certificate(issued.cert_pem.encode())


def test_the_only_san_is_the_spiffe_uri_of_the_service_account(ca, bundle, now) -> None:
    issued = _issue(ca, bundle, now)
    san = _leaf(issued).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert list(san.value) == [
        x509.UniformResourceIdentifier("spiffe://cluster.local/ns/shop/sa/frontend")
    ]
    # An empty subject makes the SAN the identity, so RFC 5280 wants it critical.
    assert san.critical
    assert _leaf(issued).subject == x509.Name([])
    assert issued.spiffe_id == "spiffe://cluster.local/ns/shop/sa/frontend"


def test_validity_is_24_hours_by_default_and_configurable(ca, bundle, now) -> None:
    default = _leaf(_issue(ca, bundle, now))
    assert default.not_valid_after_utc == now + timedelta(hours=24)
    assert now - timedelta(minutes=10) < default.not_valid_before_utc <= now
    short = _leaf(_issue(ca, bundle, now, validity=timedelta(hours=1)))
    assert short.not_valid_after_utc == now + timedelta(hours=1)


def test_a_leaf_never_outlives_its_ca(bundle, now) -> None:
    short_ca = create_root_ca(TD, now, validity=timedelta(hours=2))
    issued = _issue(short_ca, TrustBundle.of([short_ca.cert]), now)
    assert _leaf(issued).not_valid_after_utc == short_ca.not_after


def test_key_usage_is_signature_only_and_eku_is_server_and_client(ca, bundle, now) -> None:
    leaf = _leaf(_issue(ca, bundle, now))
    ku = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical
    assert ku.value.digital_signature
    assert not ku.value.key_encipherment
    assert not ku.value.key_cert_sign
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical
    assert not bc.value.ca


def test_key_is_a_fresh_p256_key_matching_the_certificate(ca, bundle, now) -> None:
    first, second = _issue(ca, bundle, now), _issue(ca, bundle, now)
    key = serialization.load_pem_private_key(first.key_pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP256R1)
    assert key.public_key() == _leaf(first).public_key()
    assert first.key_pem != second.key_pem


def test_authority_key_id_points_at_the_ca(ca, bundle, now) -> None:
    leaf = _leaf(_issue(ca, bundle, now))
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_cert_pem_is_the_leaf_alone_and_the_bundle_holds_the_roots(ca, bundle, now) -> None:
    issued = _issue(ca, bundle, now)
    assert len(x509.load_pem_x509_certificates(issued.cert_pem.encode())) == 1
    assert issued.ca_bundle_pem == bundle.to_pem()


def test_chain_verifies_against_the_bundle_as_a_client_and_a_server(ca, bundle, now) -> None:
    leaf = _leaf(_issue(ca, bundle, now))
    store = Store(list(bundle.roots))
    verified = PolicyBuilder().store(store).time(now).build_client_verifier().verify(leaf, [])
    assert verified.subjects == [
        x509.UniformResourceIdentifier("spiffe://cluster.local/ns/shop/sa/frontend")
    ]


def test_chain_does_not_verify_against_another_ca(bundle, now) -> None:
    other = create_root_ca(TD, now)
    leaf = _leaf(_issue(other, TrustBundle.of([other.cert]), now))
    verifier = PolicyBuilder().store(Store(list(bundle.roots))).time(now).build_client_verifier()
    with pytest.raises(VerificationError):
        verifier.verify(leaf, [])


def test_key_stays_out_of_repr(ca, bundle, now) -> None:
    issued = _issue(ca, bundle, now)
    body = issued.key_pem.splitlines()[1]
    assert body not in repr(issued)
    assert "PRIVATE KEY" not in repr(issued)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("namespace", "Shop"),
        ("namespace", ""),
        ("service_account", "a/b"),
        ("trust_domain", "cluster.local/evil"),
    ],
)
def test_names_that_cannot_form_a_spiffe_id_are_rejected(ca, bundle, now, field, value) -> None:
    with pytest.raises(CertError):
        _issue(ca, bundle, now, **{field: value})


def test_issuing_from_a_ca_outside_the_bundle_is_refused(ca, now) -> None:
    other = create_root_ca(TD, now)
    with pytest.raises(CertError, match="not in the trust bundle"):
        _issue(ca, TrustBundle.of([other.cert]), now)
