"""The mesh certificate authority: create a root, or load one the user supplies.

The CA signs workload and serving certificates (`workload.py`, `serving.py`). This module must
never persist anything, read the clock, or show the key: `CertificateAuthority` keeps the key
out of its repr, and errors name the problem, never the bytes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from meshgate.certs.errors import CertError
from meshgate.certs.extensions import CA_KEY_USAGE
from meshgate.certs.keys import SigningKey, key_from_pem, key_to_pem, new_mesh_key, signature_hash

ROOT_VALIDITY = timedelta(days=3650)
# A root is valid slightly in the past so a peer whose clock lags still accepts it.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class CertificateAuthority:
    cert: x509.Certificate
    key: SigningKey = field(repr=False)

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def key_pem(self) -> str:
        """The key as PEM, for the CA Secret only. A method, so it never shows up by accident."""
        return key_to_pem(self.key)

    @property
    def not_after(self) -> datetime:
        return self.cert.not_valid_after_utc


def serial_number() -> int:
    # 159 random bits: positive, under 20 octets, unpredictable (RFC 5280 4.1.2.2).
    return secrets.randbits(159) | 1


def create_root_ca(
    trust_domain: str, now: datetime, validity: timedelta = ROOT_VALIDITY
) -> CertificateAuthority:
    """A new self-signed ECDSA P-256 root for the trust domain, valid from `now` for `validity`."""
    key = new_mesh_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "meshgate"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"meshgate mesh CA {trust_domain}"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + validity)
        # path_length=0: the mesh root signs leaves only; an intermediate it signed would be
        # a second CA nobody asked for.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, signature_hash(key))
    )
    return CertificateAuthority(cert=cert, key=key)


def load_ca(cert_pem: str | bytes, key_pem: str | bytes) -> CertificateAuthority:
    """A user-supplied CA (e.g. from cert-manager); CertError when it cannot sign for the mesh."""
    data = cert_pem.encode("ascii") if isinstance(cert_pem, str) else cert_pem
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CertError("CA certificate: not a PEM certificate") from None
    # tls.crt may hold a chain; the CA that signs is its first certificate.
    cert = certs[0]
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise CertError(
            f"CA certificate {cert.subject.rfc4514_string()!r} is not a CA "
            "(basicConstraints CA:TRUE is missing)"
        )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_cert_sign:
        raise CertError(
            f"CA certificate {cert.subject.rfc4514_string()!r} may not sign certificates "
            "(keyUsage lacks keyCertSign)"
        )
    key = key_from_pem(key_pem, "CA key")
    if not _same_public_key(cert, key):
        raise CertError(
            f"CA key does not belong to the CA certificate {cert.subject.rfc4514_string()!r}"
        )
    return CertificateAuthority(cert=cert, key=key)


def _same_public_key(cert: x509.Certificate, key: SigningKey) -> bool:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return cert.public_key().public_bytes(der, spki) == key.public_key().public_bytes(der, spki)


def subject_key_identifier(cert: x509.Certificate) -> x509.SubjectKeyIdentifier:
    """The CA's SKI, computed when the certificate lacks one (some user-supplied CAs do)."""
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
