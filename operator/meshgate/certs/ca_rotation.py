"""Operator-driven rotation of the mesh CA: three steps, each decided from the CA Secret alone.

The step in progress is written on the CA Secret (annotation `meshgate.io/ca-rotation`, and when
it began), so a restarted operator carries on where the last one stopped:

1. `TrustingBoth`: a new root is made and added to the trust bundle (`ca.crt`); the old CA still
   signs, so every identity Secret is re-issued with the two-root bundle and nothing a proxy
   holds stops verifying. The new CA waits in `next.crt` / `next.key`.
2. `IssuingFromNew`: once every identity Secret carries that bundle (the identity pass issued
   nothing) and `overlap` has passed, so that proxies have reloaded it, the new CA signs: every
   workload is re-issued from it, while both roots are still trusted.
3. Done: once every identity Secret is signed by the new CA and `overlap` has passed again, the
   old root leaves the bundle; from then on an old-CA certificate is refused.

A rotation starts when someone annotates the Secret with `meshgate.io/rotate-ca` (any value;
the operator removes it) or when the CA is within `lead` of its expiry. Only the operator's own
CA rotates: a user-supplied CA Secret is never written (the caller does not ask).

Pure: the Secret body and the time in, the body to write and what to say out. The returned
body keeps the read's resourceVersion, so a concurrent writer makes the write fail rather than
be overwritten. Nothing here may put key material in a reason or message.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import create_root_ca, load_ca
from meshgate.certs.errors import CertError

PHASE_ANNOTATION: Final = "meshgate.io/ca-rotation"
SINCE_ANNOTATION: Final = "meshgate.io/ca-rotation-since"
REQUEST_ANNOTATION: Final = "meshgate.io/rotate-ca"
FINGERPRINT_ANNOTATION: Final = "meshgate.io/ca-fingerprint"
TRUSTING_BOTH: Final = "TrustingBoth"
ISSUING_FROM_NEW: Final = "IssuingFromNew"
NEXT_CERT: Final = "next.crt"
NEXT_KEY: Final = "next.key"


@dataclass(frozen=True)
class RotationStep:
    """What the identity controller does about the CA this pass."""

    body: dict[str, Any] | None  # the CA Secret to write (a replace), or None
    reason: str  # Event reason when a step is taken, else ""
    message: str  # what happened, for the Event and the log; never key material
    wait: timedelta | None  # look again this soon while a rotation is under way


NOTHING = RotationStep(None, "", "", None)


def fingerprint(cert: x509.Certificate) -> str:
    """`sha256:` and the hex digest of the DER certificate, as `openssl x509 -fingerprint` says."""
    return "sha256:" + hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def step_ca_rotation(
    body: dict[str, Any],
    *,
    settled_since: datetime | None,
    now: datetime,
    overlap: timedelta,
    lead: timedelta,
    trust_domain: str,
) -> RotationStep:
    """The next step for the operator's CA Secret `body`.

    `settled_since`: since when every identity pass issued nothing and failed nowhere (every
    identity Secret carries the current CA and bundle), or None when the last one did not. The
    overlap counts from the later of that and the step's start: proxies need it after the last
    Secret was written.
    """
    meta = body.get("metadata") or {}
    annotations = dict(meta.get("annotations") or {})
    data = dict(body.get("data") or {})
    phase = annotations.get(PHASE_ANNOTATION, "")
    current = load_ca(_text(data, "tls.crt"), _text(data, "tls.key"))
    bundle = _bundle(data, current.cert)

    if not phase:
        requested = REQUEST_ANNOTATION in annotations
        due = current.not_after - now <= lead
        if not (requested or due):
            return NOTHING
        new = create_root_ca(trust_domain, now)
        annotations.pop(REQUEST_ANNOTATION, None)
        annotations.update({PHASE_ANNOTATION: TRUSTING_BOTH, SINCE_ANNOTATION: _iso(now)})
        data["ca.crt"] = _b64(bundle.with_root(new.cert).to_pem())
        data[NEXT_CERT] = _b64(new.cert_pem)
        data[NEXT_KEY] = _b64(new.key_pem())
        why = (
            "requested by the meshgate.io/rotate-ca annotation"
            if requested
            else (f"the CA expires at {_iso(current.not_after)}")
        )
        return RotationStep(
            _with(body, annotations, data),
            "CARotationStarted",
            f"CA rotation started ({why}): new root {fingerprint(new.cert)} is trusted beside "
            f"{fingerprint(current.cert)}, which still signs until every workload trusts both",
            overlap,
        )

    if settled_since is None:
        return RotationStep(None, "", "", overlap)
    since = _parse_time(annotations.get(SINCE_ANNOTATION, "")) or settled_since
    remaining = overlap - (now - max(since, settled_since))
    if remaining > timedelta(0):
        return RotationStep(None, "", "", max(remaining, timedelta(seconds=1)))

    if phase == TRUSTING_BOTH:
        new = load_ca(_text(data, NEXT_CERT), _text(data, NEXT_KEY))
        data["tls.crt"], data["tls.key"] = data.pop(NEXT_CERT), data.pop(NEXT_KEY)
        data["ca.crt"] = _b64(bundle.with_root(new.cert).to_pem())
        annotations.update({PHASE_ANNOTATION: ISSUING_FROM_NEW, SINCE_ANNOTATION: _iso(now)})
        annotations[FINGERPRINT_ANNOTATION] = fingerprint(new.cert)
        return RotationStep(
            _with(body, annotations, data),
            "CARotationIssuing",
            f"every workload trusts both roots: {fingerprint(new.cert)} now signs; workloads "
            f"are re-issued from it while {fingerprint(current.cert)} stays trusted",
            overlap,
        )

    retired = [r for r in bundle.roots if r != current.cert]
    annotations.pop(PHASE_ANNOTATION, None)
    annotations.pop(SINCE_ANNOTATION, None)
    annotations[FINGERPRINT_ANNOTATION] = fingerprint(current.cert)
    data["ca.crt"] = _b64(TrustBundle.of([current.cert]).to_pem())
    return RotationStep(
        _with(body, annotations, data),
        "CARotationCompleted",
        "every workload is signed by "
        f"{fingerprint(current.cert)}: retired "
        + (", ".join(fingerprint(r) for r in retired) or "nothing")
        + " from the trust bundle",
        None,
    )


def _with(
    body: dict[str, Any], annotations: dict[str, str], data: dict[str, str]
) -> dict[str, Any]:
    out = copy.deepcopy(body)
    out.setdefault("metadata", {})["annotations"] = annotations
    out["data"] = data
    return out


def _bundle(data: dict[str, str], signing: x509.Certificate) -> TrustBundle:
    pem = _text(data, "ca.crt", required=False)
    bundle = TrustBundle.from_pem(pem) if pem.strip() else TrustBundle.of([signing])
    return bundle.with_root(signing)


def _text(data: dict[str, str], key: str, *, required: bool = True) -> str:
    raw = data.get(key)
    if raw is None:
        if required:
            raise CertError(f"CA Secret lacks {key}")
        return ""
    try:
        return base64.b64decode(raw, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise CertError(f"CA Secret data {key!r} is not base64-encoded PEM") from None


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("ascii")).decode("ascii")


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
