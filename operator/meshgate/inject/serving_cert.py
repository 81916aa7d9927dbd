"""A throwaway CA and serving certificate for the injector's HTTPS endpoint.

The API server checks the webhook's certificate against the configuration's caBundle and the
name it dials: a Service DNS name in a cluster, `127.0.0.1` on the local control plane, so the
certificate carries DNS and IP SANs. (`meshgate.certs.serving` issues DNS-only certificates from
the mesh CA; once it takes IP SANs this module can go.) Keys never leave the returned object and
the files `write` creates (mode 0600). Never used for mesh identities.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = timedelta(days=365)


@dataclass(frozen=True)
class ServingFiles:
    certfile: Path
    keyfile: Path
    ca_pem: bytes = field(repr=False)


@dataclass(frozen=True)
class ServingCert:
    cert_pem: bytes
    ca_pem: bytes
    key_pem: bytes = field(repr=False)

    def write(self, directory: Path) -> ServingFiles:
        directory.mkdir(parents=True, exist_ok=True)
        certfile, keyfile = directory / "tls.crt", directory / "tls.key"
        fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.key_pem)
        certfile.write_bytes(self.cert_pem)
        (directory / "ca.crt").write_bytes(self.ca_pem)
        return ServingFiles(certfile, keyfile, self.ca_pem)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def issue(hosts: tuple[str, ...], now: datetime | None = None) -> ServingCert:
    """A new CA and a leaf for `hosts` (DNS names or IP addresses), valid for a year."""
    if not hosts:
        raise ValueError("a serving certificate needs at least one host")
    now = now or datetime.now(UTC)
    start, end = now - timedelta(minutes=5), now + VALIDITY
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meshgate injector CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return ServingCert(cert_pem=_pem(leaf), ca_pem=_pem(ca), key_pem=key_pem)
