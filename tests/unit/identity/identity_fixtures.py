"""Helpers shared by the identity unit tests (imported by name; fixtures are in conftest)."""

from __future__ import annotations

from datetime import timedelta

from meshgate.identity.meshed import WantedIdentity
from meshproxy.tls.identity import spiffe_id

TRUST_DOMAIN = "cluster.local"
VALIDITY = timedelta(hours=24)


def wanted(namespace: str, account: str) -> WantedIdentity:
    return WantedIdentity(
        namespace=namespace,
        secret_name=f"meshgate-identity-{account}",
        service_account=account,
        spiffe_id=spiffe_id(TRUST_DOMAIN, namespace, account),
        source="ServiceAccount",
    )
