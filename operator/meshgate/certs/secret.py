"""Kubernetes Secret bodies for identity material, and reading them back. Pure dicts in and out.

Secrets are `kubernetes.io/tls` with `tls.crt`, `tls.key` and `ca.crt`, so kubelet, cert-manager
users and `kubectl describe` all recognise them. Reading one back checks everything a proxy will
depend on, so the operator re-issues a broken or foreign Secret instead of shipping it. This
module must never put key bytes in a message, label or annotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NotRequired, TypedDict

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import CertificateAuthority, load_ca
from meshgate.certs.errors import CertError
from meshgate.certs.keys import key_from_pem
from meshgate.certs.workload import IssuedCertificate
from meshgate.ownership import COMPONENT_LABEL, MANAGED_BY
from meshproxy.tls.identity import parse_spiffe_id

SERVICE_ACCOUNT_LABEL = "meshgate.io/service-account"
IDENTITY_ANNOTATION = "meshgate.io/identity"
NOT_AFTER_ANNOTATION = "meshgate.io/not-after"
NOT_BEFORE_ANNOTATION = "meshgate.io/not-before"
IDENTITY_SECRET_PREFIX = "meshgate-identity-"  # noqa: S105 - a name prefix, not a secret
_MAX_NAME = 253


class SecretMetadata(TypedDict):
    name: str
    namespace: str
    labels: dict[str, str]
    annotations: NotRequired[dict[str, str]]


class SecretBody(TypedDict):
    apiVersion: Literal["v1"]
    kind: Literal["Secret"]
    metadata: SecretMetadata
    type: Literal["kubernetes.io/tls"]
    data: dict[str, str]


@dataclass(frozen=True)
class SecretIdentity:
    spiffe_id: str
    not_before: datetime
    not_after: datetime


def identity_secret_name(service_account: str) -> str:
    """`meshgate-identity-<sa>`, shortened with a hash suffix when that would be too long."""
    name = IDENTITY_SECRET_PREFIX + service_account
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(service_account.encode()).hexdigest()[:10]
    return f"{name[: _MAX_NAME - 11].rstrip('-.')}-{digest}"


def identity_secret(
    issued: IssuedCertificate, *, name: str, namespace: str, service_account: str
) -> SecretBody:
    labels = {**MANAGED_BY, COMPONENT_LABEL: "identity"}
    if len(service_account) <= 63:  # label values are capped at 63 characters
        labels[SERVICE_ACCOUNT_LABEL] = service_account
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": {
                IDENTITY_ANNOTATION: issued.spiffe_id,
                NOT_BEFORE_ANNOTATION: _iso(issued.not_before),
                NOT_AFTER_ANNOTATION: _iso(issued.not_after),
            },
        },
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": _b64(issued.cert_pem),
            "tls.key": _b64(issued.key_pem),
            "ca.crt": _b64(issued.ca_bundle_pem),
        },
    }


def read_identity_secret(
    body: dict[str, object],
    *,
    trust_domain: str,
    expected_spiffe_id: str | None = None,
    bundle: TrustBundle | None = None,
    now: datetime | None = None,
) -> SecretIdentity:
    """Validate an identity Secret; CertError says what is wrong so the caller can re-issue.

    Checks: the three keys are present, the certificate has exactly one URI SAN of the mesh
    shape in our trust domain (and the expected one, when given), the key belongs to the
    certificate, the certificate was signed by a root of `bundle` (when given) and is valid at
    `now` (when given).
    """
    data = _data(body)
    cert = _one_cert(data["tls.crt"], "tls.crt")
    identity = _spiffe_id_of(cert, trust_domain)
    if expected_spiffe_id is not None and identity != expected_spiffe_id:
        raise CertError(f"tls.crt names {identity!r}, expected {expected_spiffe_id!r}")
    key = key_from_pem(data["tls.key"], "tls.key")
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if cert.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise CertError("tls.key does not belong to tls.crt")
    if bundle is not None and not _issued_by_any(cert, bundle):
        raise CertError("tls.crt was not issued by any root in the current trust bundle")
    if now is not None:
        if now < cert.not_valid_before_utc:
            raise CertError(f"tls.crt is not valid before {_iso(cert.not_valid_before_utc)}")
        if now >= cert.not_valid_after_utc:
            raise CertError(f"tls.crt expired at {_iso(cert.not_valid_after_utc)}")
    return SecretIdentity(identity, cert.not_valid_before_utc, cert.not_valid_after_utc)


def ca_secret(
    ca: CertificateAuthority, bundle: TrustBundle, *, name: str, namespace: str
) -> SecretBody:
    """The operator's CA Secret: the signing CA and, in `ca.crt`, every root proxies trust."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**MANAGED_BY, COMPONENT_LABEL: "ca"},
            "annotations": {NOT_AFTER_ANNOTATION: _iso(ca.not_after)},
        },
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": _b64(ca.cert_pem),
            "tls.key": _b64(ca.key_pem()),
            "ca.crt": _b64(bundle.to_pem()),
        },
    }


def read_ca_secret(body: dict[str, object]) -> tuple[CertificateAuthority, TrustBundle]:
    """The CA and the trust bundle from a CA Secret (ours or user-supplied).

    A user-supplied Secret may lack `ca.crt`; then the bundle is the CA alone. The signing CA
    is always added to the bundle, since certificates it signs must verify.
    """
    data = _data(body, required=("tls.crt", "tls.key"))
    ca = load_ca(data["tls.crt"], data["tls.key"])
    if "ca.crt" in data and data["ca.crt"].strip():
        bundle = TrustBundle.from_pem(data["ca.crt"]).with_root(ca.cert)
    else:
        bundle = TrustBundle.of([ca.cert])
    return ca, bundle


def _data(
    body: dict[str, object], required: tuple[str, ...] = ("tls.crt", "tls.key", "ca.crt")
) -> dict[str, str]:
    raw = body.get("data")
    if not isinstance(raw, dict):
        raise CertError("Secret has no data")
    missing = [k for k in required if k not in raw]
    if missing:
        raise CertError(f"Secret lacks {', '.join(missing)}")
    out: dict[str, str] = {}
    for k, v in raw.items():
        if not isinstance(k, str) or not isinstance(v, str):
            continue
        try:
            out[k] = base64.b64decode(v, validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            raise CertError(f"Secret data {k!r} is not base64-encoded PEM") from None
    return out


def _one_cert(pem: str, what: str) -> x509.Certificate:
    try:
        certs = x509.load_pem_x509_certificates(pem.encode("ascii"))
    except ValueError:
        raise CertError(f"{what} is not a PEM certificate") from None
    if len(certs) != 1:
        raise CertError(
            f"{what} holds {len(certs)} certificates; a workload leaf alone is expected"
        )
    return certs[0]


def _spiffe_id_of(cert: x509.Certificate, trust_domain: str) -> str:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise CertError("tls.crt has no subjectAltName; a SPIFFE URI SAN is required") from None
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    if len(uris) != 1 or len(list(san)) != 1:
        raise CertError("tls.crt must carry exactly one SAN, the SPIFFE URI")
    parsed = parse_spiffe_id(uris[0])
    if parsed is None:
        raise CertError(f"tls.crt SAN {uris[0]!r} is not spiffe://<td>/ns/<ns>/sa/<sa>")
    if parsed.trust_domain != trust_domain:
        raise CertError(
            f"tls.crt is for trust domain {parsed.trust_domain!r}, not {trust_domain!r}"
        )
    return uris[0]


def _issued_by_any(cert: x509.Certificate, bundle: TrustBundle) -> bool:
    for root in bundle.roots:
        try:
            cert.verify_directly_issued_by(root)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("ascii")).decode("ascii")


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
