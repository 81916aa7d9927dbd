"""The injector's serving identity, shared by every operator replica: a long-lived webhook CA and
a serving certificate it signed, as the Secret that holds them and back, and when to reissue.

The webhook configuration's caBundle is the CA, so reissuing only the leaf (at 2/3 of its life,
or when it no longer names where the API server calls) never invalidates the caBundle: old and
new leaves verify against the same bundle while replicas swap. A replica the API server calls at
its own address (URL mode) serves its own leaf from the same CA, never stored.

Pure: Secret bodies and certificates in, decisions out. It must never import kopf or the
Kubernetes client, read the clock, or put key bytes in a message, label or annotation.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from meshgate.certs.ca import CertificateAuthority, create_root_ca, load_ca
from meshgate.certs.errors import CertError
from meshgate.certs.keys import key_from_pem
from meshgate.certs.rotation import renewal_due
from meshgate.certs.secret import NOT_AFTER_ANNOTATION, SecretBody
from meshgate.certs.serving import (
    ServingCertificate,
    issue_serving_certificate,
    service_dns_names,
)
from meshgate.ownership import COMPONENT_LABEL, MANAGED_BY

# Besides the kubernetes.io/tls keys: the CA's key, so any replica can reissue the leaf.
CA_KEY = "ca.key"
_KEYS = ("tls.crt", "tls.key", "ca.crt", CA_KEY)


@dataclass(frozen=True)
class Endpoint:
    """Where the API server calls the injector: always the webhook Service's DNS names, plus an
    address (or host name) when it calls one replica by URL."""

    service: str
    namespace: str
    url_host: str | None = None

    @property
    def ip_addresses(self) -> tuple[str, ...]:
        return (self.url_host,) if self.url_host and _is_ip(self.url_host) else ()

    @property
    def extra_dns_names(self) -> tuple[str, ...]:
        return (self.url_host,) if self.url_host and not _is_ip(self.url_host) else ()

    def shared(self) -> Endpoint:
        """The names every replica shares: the Service's, without one replica's address."""
        return Endpoint(self.service, self.namespace)


@dataclass(frozen=True)
class WebhookIdentity:
    ca: CertificateAuthority
    serving: ServingCertificate

    @property
    def ca_pem(self) -> str:
        return self.ca.cert_pem


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def issue_leaf(ca: CertificateAuthority, endpoint: Endpoint, now: datetime) -> ServingCertificate:
    return issue_serving_certificate(
        ca,
        service=endpoint.service,
        namespace=endpoint.namespace,
        now=now,
        extra_dns_names=endpoint.extra_dns_names,
        ip_addresses=endpoint.ip_addresses,
    )


def new_identity(endpoint: Endpoint, now: datetime) -> WebhookIdentity:
    """A new CA (ten years) and a leaf (one year) for the Service's names."""
    # A fixed label: the common name is capped at 64 characters, namespaces are not.
    ca = create_root_ca("injector webhook", now)
    return WebhookIdentity(ca, issue_leaf(ca, endpoint.shared(), now))


def leaf_problem(serving: ServingCertificate, endpoint: Endpoint, now: datetime) -> str | None:
    """Why this leaf should be reissued now, or None while it is good."""
    if renewal_due(serving.not_before, serving.not_after, now):
        return f"serving certificate is due for renewal (expires {serving.not_after:%Y-%m-%d})"
    names = (*service_dns_names(endpoint.service, endpoint.namespace), *endpoint.extra_dns_names)
    missing = [
        *(n for n in names if n not in serving.dns_names),
        *(a for a in endpoint.ip_addresses if a not in serving.ip_addresses),
    ]
    if missing:
        return f"serving certificate does not name {', '.join(missing)}"
    return None


def renewed(identity: WebhookIdentity, endpoint: Endpoint, now: datetime) -> WebhookIdentity:
    """The same CA, so the caBundle stays valid, and a new leaf for the shared names."""
    return WebhookIdentity(identity.ca, issue_leaf(identity.ca, endpoint.shared(), now))


def secret_body(identity: WebhookIdentity, *, name: str, namespace: str) -> SecretBody:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**MANAGED_BY, COMPONENT_LABEL: "webhook"},
            "annotations": {NOT_AFTER_ANNOTATION: _iso(identity.serving.not_after)},
        },
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": _b64(identity.serving.cert_pem),
            "tls.key": _b64(identity.serving.key_pem),
            "ca.crt": _b64(identity.ca.cert_pem),
            CA_KEY: _b64(identity.ca.key_pem()),
        },
    }


def read_secret(body: Mapping[str, object]) -> WebhookIdentity:
    """The identity a Secret holds; CertError says what is wrong (never showing the bytes)."""
    raw = body.get("data")
    if not isinstance(raw, Mapping):
        raise CertError("Secret has no data")
    data: dict[str, str] = {}
    for k in _KEYS:
        value = raw.get(k)
        if not isinstance(value, str):
            raise CertError(f"Secret lacks {k}")
        try:
            data[k] = base64.b64decode(value, validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            raise CertError(f"Secret data {k!r} is not base64-encoded PEM") from None
    ca = load_ca(data["ca.crt"], data[CA_KEY])
    try:
        leaf = x509.load_pem_x509_certificate(data["tls.crt"].encode("ascii"))
    except ValueError:
        raise CertError("tls.crt is not a PEM certificate") from None
    try:
        leaf.verify_directly_issued_by(ca.cert)
    except (ValueError, TypeError, InvalidSignature):
        raise CertError("tls.crt was not issued by the CA in ca.crt") from None
    key = key_from_pem(data["tls.key"], "tls.key")
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if leaf.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise CertError("tls.key does not belong to tls.crt")
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise CertError("tls.crt has no subjectAltName") from None
    serving = ServingCertificate(
        dns_names=tuple(san.get_values_for_type(x509.DNSName)),
        ip_addresses=tuple(str(a) for a in san.get_values_for_type(x509.IPAddress)),
        cert_pem=data["tls.crt"],
        ca_pem=ca.cert_pem,
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        key_pem=data["tls.key"],
    )
    return WebhookIdentity(ca, serving)


def leaf_to_serve(
    identity: WebhookIdentity,
    endpoint: Endpoint,
    now: datetime,
    current: ServingCertificate | None = None,
) -> ServingCertificate:
    """What this replica serves: the shared leaf when the API server calls the Service; called
    at its own address, a leaf of its own from the shared CA (kept while it is good)."""
    if endpoint.url_host is None:
        return identity.serving
    if (
        current is not None
        and current.ca_pem == identity.ca_pem
        and leaf_problem(current, endpoint, now) is None
    ):
        return current
    return issue_leaf(identity.ca, endpoint, now)


def served_pem(serving: ServingCertificate) -> bytes:
    """Key and certificate in one file: the TLS server reloads it as a whole when it is
    replaced, so it never pairs a new certificate with an old key."""
    return (serving.key_pem + serving.cert_pem).encode("ascii")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("ascii")).decode("ascii")


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
