"""Workload identity certificates: one SPIFFE URI SAN, short-lived, client and server auth.

A workload certificate names a Kubernetes service account and nothing else: no DNS names, no
IPs, no subject, so it cannot be mistaken for (or used as) anything but a mesh identity. This
module must never read the clock or expose the private key outside the returned PEM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import (
    CLOCK_SKEW,
    CertificateAuthority,
    serial_number,
    subject_key_identifier,
)
from meshgate.certs.errors import CertError
from meshgate.certs.extensions import LEAF_KEY_USAGE
from meshgate.certs.keys import key_to_pem, new_mesh_key, signature_hash
from meshproxy.tls.identity import spiffe_id

WORKLOAD_VALIDITY = timedelta(hours=24)


@dataclass(frozen=True)
class IssuedCertificate:
    """What goes into an identity Secret. `key_pem` stays out of repr so it is never logged."""

    spiffe_id: str
    cert_pem: str  # the leaf only: the bundle carries the roots
    ca_bundle_pem: str
    not_before: datetime
    not_after: datetime
    key_pem: str = field(repr=False)


def issue_workload_certificate(
    ca: CertificateAuthority,
    bundle: TrustBundle,
    *,
    trust_domain: str,
    namespace: str,
    service_account: str,
    now: datetime,
    validity: timedelta = WORKLOAD_VALIDITY,
) -> IssuedCertificate:
    """A fresh key and certificate for `spiffe://<td>/ns/<namespace>/sa/<service_account>`."""
    if ca.cert not in bundle:
        # Issuing from a CA the proxies do not trust would fail every handshake; say so here.
        raise CertError("the issuing CA is not in the trust bundle; add its root first")
    if validity <= timedelta(0):
        raise CertError("workload certificate validity must be positive")
    try:
        identity = spiffe_id(trust_domain, namespace, service_account)
    except ValueError as exc:
        raise CertError(str(exc)) from None
    not_before = now - CLOCK_SKEW
    not_after = min(now + validity, ca.not_after)  # a leaf never outlives its issuer
    if not_after <= now:
        raise CertError("the CA has expired; rotate it before issuing workload certificates")
    key = new_mesh_key()
    cert = (
        x509.CertificateBuilder()
        # An empty subject: the SAN is the identity (SPIFFE X.509-SVID), hence critical below.
        .subject_name(x509.Name([]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity)]),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(LEAF_KEY_USAGE, critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                subject_key_identifier(ca.cert)
            ),
            critical=False,
        )
        .sign(ca.key, signature_hash(ca.key))
    )
    return IssuedCertificate(
        spiffe_id=identity,
        cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        ca_bundle_pem=bundle.to_pem(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_pem=key_to_pem(key),
    )
