"""Certificates and keys of the local control plane, made with `cryptography`.

One throwaway CA signs the API server's serving certificate and the client certificates of the
admin and the controller-manager; a separate key pair signs service-account tokens. Everything is
written into the cluster's state directory with owner-only permissions.

This PKI exists for a loopback test cluster: it must never be used for a real cluster or for
meshgate's workload identities (those live in `meshgate.certs`).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The service range: a /16 holds 65,534 ClusterIPs, enough for scale benches with thousands of
# Services (a /24 ran out at ~250). It lies in 198.19.0.0/16, the upper half of 198.18.0.0/15
# (reserved for benchmarking, never routed on the Internet): the only non-loopback range tests may
# address, and only inside their network namespace. The e2e node agent hands out Pod addresses
# from the lower half, 198.18.0.0/16, so a Pod and a Service never share an address.
SERVICE_CIDR = "198.19.0.0/16"
# The API server's in-cluster names and the first IP of the service range: what a client inside
# the cluster (or a webhook's caller) may dial.
FIRST_SERVICE_IP = str(next(ipaddress.IPv4Network(SERVICE_CIDR).hosts()))
SERVING_DNS_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
SERVING_IPS = ("127.0.0.1", FIRST_SERVICE_IP)

# Long enough for a cluster left running by `make up`; short enough to be obviously a test PKI.
VALIDITY = datetime.timedelta(days=30)


@dataclass(frozen=True)
class PkiPaths:
    """Where the PKI files of one cluster live."""

    dir: Path

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def serving_cert(self) -> Path:
        return self.dir / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.dir / "apiserver.key"

    @property
    def sa_key(self) -> Path:
        return self.dir / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.dir / "sa.pub"

    def client_cert(self, name: str) -> Path:
        return self.dir / f"{name}.crt"

    def client_key(self, name: str) -> Path:
        return self.dir / f"{name}.key"


# ECDSA P-256 keys: every component accepts them and they are generated in microseconds, which
# keeps a fresh test cluster's startup short.
def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # A minute of slack for clocks that disagree by a little.
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + VALIDITY)
    )


@dataclass(frozen=True)
class _Issuer:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _make_ca(paths: PkiPaths) -> _Issuer:
    key = _new_key()
    subject = _name("meshgate-local-ca")
    cert = (
        _builder(subject, subject, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(paths.ca_key, _key_pem(key))
    _write(paths.ca_cert, cert.public_bytes(serialization.Encoding.PEM))
    return _Issuer(cert, key)


def _issue(
    issuer: _Issuer,
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    cert_path: Path,
    key_path: Path,
    san: x509.SubjectAlternativeName | None = None,
) -> None:
    key = _new_key()
    builder = (
        _builder(subject, issuer.cert.subject, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    cert = builder.sign(issuer.key, hashes.SHA256())
    _write(key_path, _key_pem(key))
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))


def create_pki(directory: Path, clients: dict[str, tuple[str, str | None]]) -> PkiPaths:
    """Write a CA, the API server's serving pair, the service-account key pair and client pairs.

    `clients` maps a file stem to (user name, group): the API server reads the user from the
    certificate's CN and the group from its O.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = PkiPaths(directory)
    ca = _make_ca(paths)
    san = x509.SubjectAlternativeName(
        [x509.DNSName(n) for n in SERVING_DNS_NAMES]
        + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVING_IPS]
    )
    _issue(
        ca,
        _name("kube-apiserver"),
        ExtendedKeyUsageOID.SERVER_AUTH,
        paths.serving_cert,
        paths.serving_key,
        san,
    )
    for stem, (user, group) in clients.items():
        _issue(
            ca,
            _name(user, group),
            ExtendedKeyUsageOID.CLIENT_AUTH,
            paths.client_cert(stem),
            paths.client_key(stem),
        )
    sa_key = _new_key()
    _write(paths.sa_key, _key_pem(sa_key))
    _write(
        paths.sa_pub,
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    return paths
