"""The identity plan: which identity Secrets to issue, which to delete, what to warn about, and
when to look again. Pure: the CA, the wanted identities, the live Secrets and `now` in; a plan out.

A live Secret is kept only when a proxy can use it as it is: valid for its SPIFFE ID, signed by
the current CA, carrying the current trust bundle, and not yet at 2/3 of its life. Anything else
is re-issued, so one rule covers a deleted, corrupted, foreign, expiring or pre-rotation Secret.
Only Secrets carrying our identity label reach this module as `live`, so deletion never touches
a Secret meshgate did not create. This module must never import kopf or the Kubernetes client,
read the clock, or put key material into a reason or warning.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import CLOCK_SKEW, CertificateAuthority
from meshgate.certs.errors import CertError
from meshgate.certs.rotation import MAX_CHECK_INTERVAL, expiry_warning, next_check, renewal_due
from meshgate.certs.secret import read_identity_secret

from .meshed import WantedIdentity

SecretKey = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class Issue:
    identity: WantedIdentity
    reason: str  # why: "missing", "renewal due", ... never key material


@dataclass(frozen=True, order=True)
class Delete:
    namespace: str
    name: str


@dataclass(frozen=True, order=True)
class ExpiryWarning:
    """A certificate close to expiry and not renewed: becomes a Warning Event on its Secret."""

    namespace: str
    secret: str
    subject: str  # the SPIFFE ID, or "mesh CA"
    not_after: datetime
    message: str


@dataclass(frozen=True)
class IdentityPlan:
    issue: tuple[Issue, ...]
    delete: tuple[Delete, ...]
    warnings: tuple[ExpiryWarning, ...]
    next_check: timedelta


@dataclass(frozen=True)
class PlanPolicy:
    trust_domain: str
    validity: timedelta
    workload_warning: timedelta
    ca_warning: timedelta
    min_check_interval: timedelta
    max_check_interval: timedelta = MAX_CHECK_INTERVAL


@dataclass(frozen=True)
class CaRef:
    """The signing CA, its bundle, and where its Secret lives (for the CA's own warning)."""

    ca: CertificateAuthority
    bundle: TrustBundle
    namespace: str
    secret: str


def plan_identities(
    wanted: Iterable[WantedIdentity],
    live: Mapping[SecretKey, Mapping[str, Any]],
    ca: CaRef,
    policy: PlanPolicy,
    now: datetime,
) -> IdentityPlan:
    issue: list[Issue] = []
    warnings: list[ExpiryWarning] = []
    checks: list[timedelta] = []
    wanted_keys: set[SecretKey] = set()
    bundle_pem = ca.bundle.to_pem()
    fresh_until = min(now + policy.validity, ca.ca.not_after)

    def check_in(issued_at: datetime, not_after: datetime) -> timedelta:
        return next_check(
            issued_at,
            not_after,
            now,
            max_interval=policy.max_check_interval,
            min_interval=policy.min_check_interval,
        )

    for want in wanted:
        key = (want.namespace, want.secret_name)
        wanted_keys.add(key)
        body = live.get(key)
        reason, not_after = (
            ("missing", None)
            if body is None
            else _verdict(body, want, ca, bundle_pem, policy.trust_domain, now)
        )
        if not_after is not None and expiry_warning(not_after, now, policy.workload_warning):
            warnings.append(
                ExpiryWarning(
                    want.namespace,
                    want.secret_name,
                    want.spiffe_id,
                    not_after,
                    f"certificate for {want.spiffe_id} expires at {_iso(not_after)} unrenewed"
                    + ("; re-issuing now" if reason else ""),
                )
            )
        if reason:
            issue.append(Issue(want, reason))
            checks.append(check_in(now, fresh_until))
        elif not_after is not None:
            checks.append(check_in(_issued_at(body), not_after))

    if expiry_warning(ca.ca.not_after, now, policy.ca_warning):
        warnings.append(
            ExpiryWarning(
                ca.namespace,
                ca.secret,
                "mesh CA",
                ca.ca.not_after,
                f"the mesh CA expires at {_iso(ca.ca.not_after)}; rotate it: workload "
                "certificates cannot outlive it",
            )
        )
    # The CA's warning needs no finer clock than the longest wait between checks.
    checks.append(policy.max_check_interval)
    delete = sorted(Delete(ns, name) for ns, name in live if (ns, name) not in wanted_keys)
    return IdentityPlan(
        issue=tuple(issue),
        delete=tuple(delete),
        warnings=tuple(sorted(warnings)),
        next_check=min(checks),
    )


def _verdict(
    body: Mapping[str, Any],
    want: WantedIdentity,
    ca: CaRef,
    bundle_pem: str,
    trust_domain: str,
    now: datetime,
) -> tuple[str, datetime | None]:
    """("", not_after) when the Secret is usable as it is, else (why it is re-issued, expiry)."""
    try:
        found = read_identity_secret(
            dict(body),
            trust_domain=trust_domain,
            expected_spiffe_id=want.spiffe_id,
            bundle=ca.bundle,
            now=now,
        )
    except CertError as exc:
        return f"invalid: {exc}", None
    if not _signed_by(body, ca.ca.cert):
        return "issued by a previous CA", found.not_after
    if _text(body, "ca.crt") != bundle_pem:
        return "trust bundle changed", found.not_after
    # Renewal counts from issuance: not-before is backdated by the clock-skew allowance, which
    # would otherwise make every certificate shorter than a quarter hour due at once.
    if renewal_due(found.not_before + CLOCK_SKEW, found.not_after, now):
        return "renewal due", found.not_after
    return "", found.not_after


def _issued_at(body: Mapping[str, Any] | None) -> datetime:
    cert = _leaf(body or {})
    assert cert is not None  # only called for Secrets _verdict accepted
    return cert.not_valid_before_utc + CLOCK_SKEW


def _signed_by(body: Mapping[str, Any], root: x509.Certificate) -> bool:
    cert = _leaf(body)
    if cert is None:
        return False
    try:
        cert.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _leaf(body: Mapping[str, Any]) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(_text(body, "tls.crt").encode("ascii"))
    except ValueError:
        return None


def _text(body: Mapping[str, Any], key: str) -> str:
    data = body.get("data")
    raw = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(raw, str):
        return ""
    try:
        return base64.b64decode(raw, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
