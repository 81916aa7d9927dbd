"""A certificate file's validity period, read with `cryptography`'s X.509 parser.

The proxy exports `meshproxy_cert_expiry_seconds` from this. The standard library can load a
certificate into a context but offers no public way to read its dates; `cryptography` is already
one of the proxy's dependencies, and its strict DER parser beats a hand-written walk. It is
imported on first use: it adds ~7 MiB to a process's RSS, and a proxy without an identity or an
HTTPS listener never reads a certificate date.

This module must never trust what it parses for security decisions: OpenSSL verifies
certificates; these dates only feed metrics and logs.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

__all__ = ["CertificateParseError", "file_validity", "seconds_until_expiry", "validity"]

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\s+.*?-----END CERTIFICATE-----", re.DOTALL)


class CertificateParseError(ValueError):
    """The bytes are not an X.509 certificate."""


def validity(der: bytes) -> tuple[datetime, datetime]:
    """(notBefore, notAfter) of a DER certificate, as aware UTC datetimes."""
    from cryptography import x509  # on first use: see the module docstring

    try:
        cert = x509.load_der_x509_certificate(der)
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    except (ValueError, x509.InvalidVersion) as exc:  # a bad version is not a ValueError
        raise CertificateParseError(f"not a DER certificate: {exc}") from None


def file_validity(path: str | Path) -> tuple[datetime, datetime]:
    """Validity of the first certificate in a PEM file (the leaf, in a chain file)."""
    found = _PEM_CERT.search(Path(path).read_bytes())
    if found is None:
        raise CertificateParseError(f"{path}: no PEM certificate")
    from cryptography import x509  # on first use: see the module docstring

    try:
        cert = x509.load_pem_x509_certificate(found.group(0))
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    except (ValueError, x509.InvalidVersion):
        raise CertificateParseError(f"{path}: the PEM certificate does not parse") from None


def seconds_until_expiry(path: str | Path, now: datetime) -> float:
    """Seconds from `now` to the certificate's notAfter; negative once it has expired."""
    return (file_validity(path)[1] - now).total_seconds()
