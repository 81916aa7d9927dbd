"""A ServiceAccount in a meshed namespace gets `meshgate-identity-<sa>`: a SPIFFE certificate
signed by the CA in the CA Secret; a deleted identity Secret comes back with a fresh key; an
identity nobody needs any more is deleted; no key material reaches the controller's log."""

from __future__ import annotations

import base64

from cryptography import x509
from identity_harness import (
    create_service_account,
    delete,
    eventually,
    get,
    leaf,
    pem,
    secret_path,
    uri_sans,
)
from kubernetes.client import ApiClient


def test_identity_is_issued_restored_and_removed(
    api_client: ApiClient, meshed_namespace: str, identity_controller
) -> None:
    ns = meshed_namespace
    controller = identity_controller()
    create_service_account(api_client, ns, "cart")
    path = secret_path(ns, "meshgate-identity-cart")

    secret = eventually(lambda: get(api_client, path), timeout=30, what="identity Secret")
    assert secret["type"] == "kubernetes.io/tls"
    cert = leaf(secret)
    assert uri_sans(cert) == [f"spiffe://cluster.local/ns/{ns}/sa/cart"]
    ca_secret = eventually(
        lambda: get(api_client, secret_path(ns, "meshgate-ca")), timeout=10, what="CA Secret"
    )
    ca_cert = x509.load_pem_x509_certificate(pem(ca_secret, "tls.crt"))
    cert.verify_directly_issued_by(ca_cert)
    assert pem(secret, "ca.crt") == pem(ca_secret, "ca.crt")
    # Only on.event handlers: kopf never adds a finalizer or copies the data into annotations.
    assert not secret["metadata"].get("finalizers")
    assert not any("kopf" in k for k in secret["metadata"].get("annotations", {}))

    delete(api_client, path)
    back = eventually(
        lambda: (s := get(api_client, path)) and leaf(s).serial_number != cert.serial_number and s,
        timeout=30,
        what="the deleted identity Secret to come back",
    )
    assert uri_sans(leaf(back)) == [f"spiffe://cluster.local/ns/{ns}/sa/cart"]
    assert pem(back, "tls.key") != pem(secret, "tls.key")

    delete(api_client, f"/api/v1/namespaces/{ns}/serviceaccounts/cart")
    eventually(
        lambda: get(api_client, path) is None,
        timeout=30,
        what="the identity of the deleted ServiceAccount to be removed",
    )

    log = controller.log_text()
    for key in (pem(secret, "tls.key"), pem(back, "tls.key"), pem(ca_secret, "tls.key")):
        body_line = key.decode().splitlines()[1]
        assert body_line not in log
        assert base64.b64encode(key).decode()[:40] not in log
    assert "PRIVATE KEY" not in log
