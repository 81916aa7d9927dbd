"""CA rotation: add the new root, re-issue, drop the old root. Checked with cryptography's
verifier, the same decision a TLS peer makes about the chain."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import CertificateAuthority, create_root_ca
from meshgate.certs.errors import CertError
from meshgate.certs.workload import issue_workload_certificate


def _leaf(ca: CertificateAuthority, bundle: TrustBundle, now: datetime) -> x509.Certificate:
    issued = issue_workload_certificate(
        ca, bundle, trust_domain="cluster.local", namespace="ns", service_account="sa", now=now
    )
    return x509.load_pem_x509_certificate(issued.cert_pem.encode())


def _verifies(leaf: x509.Certificate, bundle: TrustBundle, now: datetime) -> bool:
    verifier = PolicyBuilder().store(Store(list(bundle.roots))).time(now).build_client_verifier()
    try:
        verifier.verify(leaf, [])
    except VerificationError:
        return False
    return True


def test_old_and_new_leaves_both_verify_while_the_bundle_holds_both_roots(
    ca: CertificateAuthority, bundle: TrustBundle, now: datetime
) -> None:
    old_leaf = _leaf(ca, bundle, now)
    new_ca = create_root_ca("cluster.local", now)
    overlap = bundle.with_root(new_ca.cert)
    new_leaf = _leaf(new_ca, overlap, now)
    assert _verifies(old_leaf, overlap, now)
    assert _verifies(new_leaf, overlap, now)
    # Before the overlap, the new leaf is untrusted: the order of the steps matters.
    assert not _verifies(new_leaf, bundle, now)


def test_after_the_old_root_is_dropped_old_leaves_stop_verifying(
    ca: CertificateAuthority, bundle: TrustBundle, now: datetime
) -> None:
    old_leaf = _leaf(ca, bundle, now)
    new_ca = create_root_ca("cluster.local", now)
    final = bundle.with_root(new_ca.cert).without_root(ca.cert)
    assert final.roots == (new_ca.cert,)
    assert not _verifies(old_leaf, final, now + timedelta(minutes=1))
    assert _verifies(_leaf(new_ca, final, now), final, now)


def test_bundle_dedupes_and_round_trips_through_pem_in_order(
    ca: CertificateAuthority, bundle: TrustBundle, now: datetime
) -> None:
    new_ca = create_root_ca("cluster.local", now)
    twice = bundle.with_root(new_ca.cert).with_root(ca.cert).with_root(new_ca.cert)
    assert twice.roots == (ca.cert, new_ca.cert)
    assert TrustBundle.from_pem(twice.to_pem()) == twice


def test_bundle_refuses_leaves_and_emptiness(
    ca: CertificateAuthority, bundle: TrustBundle, now: datetime
) -> None:
    leaf = _leaf(ca, bundle, now)
    with pytest.raises(CertError, match="not a CA"):
        TrustBundle.of([leaf])
    with pytest.raises(CertError, match="at least one"):
        bundle.without_root(ca.cert)
    with pytest.raises(CertError, match="no PEM"):
        TrustBundle.from_pem("")


def test_expired_roots_are_reported(ca: CertificateAuthority, now: datetime) -> None:
    short = create_root_ca("cluster.local", now, validity=timedelta(days=1))
    bundle = TrustBundle.of([ca.cert, short.cert])
    assert bundle.expired_roots(now) == ()
    assert bundle.expired_roots(now + timedelta(days=2)) == (short.cert,)
