"""The first start creates the CA Secret; a restarted controller reuses it, so identities it
issues after the restart chain to the same root and the existing ones are kept."""

from __future__ import annotations

from cryptography import x509
from identity_harness import create_service_account, eventually, get, leaf, pem, secret_path
from kubernetes.client import ApiClient


def test_restart_reuses_the_ca_and_keeps_identities(
    api_client: ApiClient, meshed_namespace: str, identity_controller
) -> None:
    ns = meshed_namespace
    first = identity_controller()
    ca_path = secret_path(ns, "meshgate-ca")
    ca_secret = eventually(lambda: get(api_client, ca_path), timeout=30, what="the CA Secret")
    cart = eventually(
        lambda: get(api_client, secret_path(ns, "meshgate-identity-default")),
        timeout=30,
        what="the default account's identity",
    )
    first.stop()

    identity_controller()
    create_service_account(api_client, ns, "cart")
    after = eventually(
        lambda: get(api_client, secret_path(ns, "meshgate-identity-cart")),
        timeout=30,
        what="an identity issued after the restart",
    )
    again = get(api_client, ca_path)
    assert again is not None
    assert again["metadata"]["uid"] == ca_secret["metadata"]["uid"]
    assert pem(again, "tls.crt") == pem(ca_secret, "tls.crt")
    root = x509.load_pem_x509_certificate(pem(ca_secret, "tls.crt"))
    leaf(after).verify_directly_issued_by(root)
    kept = get(api_client, secret_path(ns, "meshgate-identity-default"))
    assert kept is not None
    assert kept["metadata"]["resourceVersion"] == cart["metadata"]["resourceVersion"]
