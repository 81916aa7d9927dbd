"""Serving certificates for the operator's own HTTPS endpoints (the admission webhook).

The kube-apiserver calls a webhook Service at `<service>.<namespace>.svc` and checks the name;
that is what these certificates carry, plus IP SANs for a webhook it calls by URL at an address
(a control plane without cluster DNS). They are not mesh identities: no URI SAN, serverAuth
only. This module must never read the clock or expose the key outside the returned PEM.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from meshgate.certs.ca import (
    CLOCK_SKEW,
    CertificateAuthority,
    serial_number,
    subject_key_identifier,
)
from meshgate.certs.errors import CertError
from meshgate.certs.extensions import LEAF_KEY_USAGE
from meshgate.certs.keys import key_to_pem, new_mesh_key, signature_hash

SERVING_VALIDITY = timedelta(days=365)


@dataclass(frozen=True)
class ServingCertificate:
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    cert_pem: str
    ca_pem: str  # for the webhook configuration's caBundle
    not_before: datetime
    not_after: datetime
    key_pem: str = field(repr=False)


def service_dns_names(service: str, namespace: str) -> tuple[str, ...]:
    # The API server dials `<svc>.<ns>.svc`; the longer form helps in-cluster callers with
    # the default cluster domain, and costs nothing.
    return (f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local")


_MAX_CN = 64


def issue_serving_certificate(
    ca: CertificateAuthority,
    *,
    service: str,
    namespace: str,
    now: datetime,
    validity: timedelta = SERVING_VALIDITY,
    extra_dns_names: tuple[str, ...] = (),
    ip_addresses: tuple[str, ...] = (),
) -> ServingCertificate:
    if not service or not namespace:
        raise CertError("a serving certificate needs a service name and a namespace")
    names = (*service_dns_names(service, namespace), *extra_dns_names)
    try:
        ips = tuple(ipaddress.ip_address(a) for a in ip_addresses)
    except ValueError as e:
        raise CertError(f"serving certificate: {e}") from None
    key = new_mesh_key()
    not_after = min(now + validity, ca.not_after)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _common_name(names))]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [*(x509.DNSName(n) for n in names), *(x509.IPAddress(ip) for ip in ips)]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(LEAF_KEY_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                subject_key_identifier(ca.cert)
            ),
            critical=False,
        )
        .sign(ca.key, signature_hash(ca.key))
    )
    return ServingCertificate(
        dns_names=names,
        ip_addresses=tuple(str(ip) for ip in ips),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        ca_pem=ca.cert_pem,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_pem=key_to_pem(key),
    )


def _common_name(names: tuple[str, ...]) -> str:
    """The first name that fits a CN (64 characters at most, RFC 5280 ub-common-name). Clients
    check the SAN, never the CN, so a long namespace must not make the certificate unissuable."""
    return next((n for n in names if len(n) <= _MAX_CN), names[0][:_MAX_CN])
