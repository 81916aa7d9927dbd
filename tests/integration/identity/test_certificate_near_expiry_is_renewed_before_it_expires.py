"""With 30-second certificates, the controller replaces an identity at 2/3 of its life (about
20 s after issue), before it expires, without any event on the cluster prompting it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from identity_harness import create_service_account, eventually, get, leaf, secret_path
from kubernetes.client import ApiClient


def test_short_lived_certificate_is_replaced_before_expiry(
    api_client: ApiClient, meshed_namespace: str, identity_controller
) -> None:
    ns = meshed_namespace
    identity_controller(MESHGATE_IDENTITY_VALIDITY_SECONDS="30")
    create_service_account(api_client, ns, "cart")
    path = secret_path(ns, "meshgate-identity-cart")
    first = leaf(eventually(lambda: get(api_client, path), timeout=30, what="identity Secret"))
    issued = time.monotonic()
    lifetime = first.not_valid_after_utc - datetime.now(UTC)
    assert 20 < lifetime.total_seconds() <= 30

    def renewed() -> object:
        secret = get(api_client, path)
        return secret and leaf(secret).serial_number != first.serial_number and secret

    second = leaf(eventually(renewed, timeout=45, what="the certificate to be renewed"))
    waited = time.monotonic() - issued
    # Not re-issued on every reconcile, and not left to expire.
    assert waited >= 15
    assert datetime.now(UTC) < first.not_valid_after_utc
    assert second.not_valid_after_utc > first.not_valid_after_utc
