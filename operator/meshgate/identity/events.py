"""Event bodies on identity Secrets: certificates close to expiry, steps of a CA rotation. Pure.

Core/v1 Events on the Secret that holds the certificate, so `kubectl describe secret` and
`kubectl get events` both show them. The message names the identity and the date, nothing from
the Secret's data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .plan import ExpiryWarning

REASON = "CertificateExpiring"
COMPONENT = "meshgate"


def expiry_event(
    warning: ExpiryWarning, *, now: datetime, uid: str | None, instance: str
) -> dict[str, Any]:
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    involved: dict[str, str] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "namespace": warning.namespace,
        "name": warning.secret,
    }
    if uid:
        involved["uid"] = uid
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{warning.secret}.", "namespace": warning.namespace},
        "involvedObject": involved,
        "type": "Warning",
        "reason": REASON,
        "message": warning.message,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": instance,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def ca_rotation_event(
    *,
    namespace: str,
    secret: str,
    uid: str | None,
    reason: str,
    message: str,
    now: datetime,
    instance: str,
) -> dict[str, Any]:
    """A Normal Event on the CA Secret for each step of a CA rotation."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    involved: dict[str, str] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "namespace": namespace,
        "name": secret,
    }
    if uid:
        involved["uid"] = uid
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{secret}.", "namespace": namespace},
        "involvedObject": involved,
        "type": "Normal",
        "reason": reason,
        "message": message,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": instance,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
