"""SPIFFE workload identities: their one accepted shape, and reading them off a verified peer.

The mesh identity is `spiffe://<trust-domain>/ns/<namespace>/sa/<serviceaccount>`. The operator
issues certificates with exactly that URI SAN (it imports `spiffe_id` from here, so both sides
agree on the shape) and the proxy accepts nothing else.

This module must never take an identity from anything but a certificate the TLS layer has
verified: no headers, no unverified `getpeercert()` results.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterable
from typing import NamedTuple

# Trust domains per the SPIFFE spec: lowercase letters, digits, dot, dash, underscore.
_TRUST_DOMAIN = re.compile(r"[a-z0-9._-]{1,255}")
# Namespaces and service account names are Kubernetes DNS subdomain names.
_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_SPIFFE = re.compile(r"spiffe://(?P<td>[^/]+)/ns/(?P<ns>[^/]+)/sa/(?P<sa>[^/]+)")


class SpiffeId(NamedTuple):
    trust_domain: str
    namespace: str
    service_account: str


def spiffe_id(trust_domain: str, namespace: str, service_account: str) -> str:
    """The SPIFFE ID of a service account; ValueError when a part cannot appear in one."""
    if not _TRUST_DOMAIN.fullmatch(trust_domain):
        raise ValueError(f"trust domain {trust_domain!r} is not a valid SPIFFE trust domain")
    for what, name in (("namespace", namespace), ("service account", service_account)):
        if not _K8S_NAME.fullmatch(name):
            raise ValueError(f"{what} {name!r} is not a valid Kubernetes name")
    return f"spiffe://{trust_domain}/ns/{namespace}/sa/{service_account}"


def parse_spiffe_id(value: str) -> SpiffeId | None:
    """Split a mesh SPIFFE ID into its parts; None for anything not of the mesh shape."""
    found = _SPIFFE.fullmatch(value)
    if found is None:
        return None
    td, ns, sa = found["td"], found["ns"], found["sa"]
    if not (_TRUST_DOMAIN.fullmatch(td) and _K8S_NAME.fullmatch(ns) and _K8S_NAME.fullmatch(sa)):
        return None
    return SpiffeId(td, ns, sa)


def peer_spiffe_id(
    ssl_object: ssl.SSLObject | ssl.SSLSocket | None, trust_domain: str
) -> str | None:
    """The verified peer's SPIFFE ID in our trust domain, or None.

    `getpeercert()` gives None without a peer certificate and `{}` when the context did not
    verify it (CERT_NONE); both mean "no identity". A certificate with more than one URI SAN is
    ambiguous and gets no identity either, rather than whichever URI happens to come first.
    """
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    if not cert:
        return None
    uris = [
        entry[1]
        for entry in cert.get("subjectAltName", ())
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == "URI"
    ]
    if len(uris) != 1 or not isinstance(uris[0], str):
        return None
    parsed = parse_spiffe_id(uris[0])
    if parsed is None or parsed.trust_domain != trust_domain:
        return None
    return uris[0]


def identity_allowed(peer_id: str | None, expected_identities: Iterable[str]) -> bool:
    """Whether a mesh server's identity is one the client was told to expect.

    An empty expectation admits any identity of the trust domain (`peer_spiffe_id` already
    checked that); no identity at all is never admitted.
    """
    if peer_id is None:
        return False
    expected = list(expected_identities)
    return not expected or peer_id in expected
