"""On the real API server, a listener certificate in another namespace is RefNotPermitted until
a ReferenceGrant there allows the Gateway; then the listener is resolved and programmed, served
from a copy of the Secret in the Gateway's namespace (owned by the Gateway), and a rotated
source certificate reaches the copy."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from controller_kit import eventually
from gwapi_harness import apply, find, gateway, get, start_operator
from kubernetes import client
from kubernetes.client import ApiClient
from operator_harness import OperatorProcess

from meshgate.certs.ca import create_root_ca


def _pem_secret(name: str, common_name: str) -> dict[str, Any]:
    ca = create_root_ca(common_name, datetime.now(UTC))
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": base64.b64encode(ca.cert_pem.encode()).decode(),
            "tls.key": base64.b64encode(ca.key_pem().encode()).decode(),
        },
    }


@pytest.fixture
def cert_namespace(api_client: ApiClient, namespace: str) -> Iterator[str]:
    core = client.CoreV1Api(api_client)
    name = f"{namespace}-c"[:63]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        core.delete_namespace(name)


@pytest.fixture
def operator_of_both(
    class_name: str, kubeconfig: str, namespace: str, cert_namespace: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    op = start_operator(kubeconfig, f"{namespace},{cert_namespace}", tmp_path / "op.log")
    try:
        yield op
    finally:
        op.stop()
        print(op.log_tail())


def _listener(api: ApiClient, ns: str, type_: str) -> tuple[str, str] | None:
    gw = get(api, "Gateway", ns, "edge")
    listeners = ((gw or {}).get("status") or {}).get("listeners") or []
    c = find(listeners[0]["conditions"], type_) if listeners else None
    return (c["status"], c["reason"]) if c else None


def test_foreign_certificate(
    api_client: ApiClient,
    namespace: str,
    cert_namespace: str,
    class_name: str,
    operator_of_both: OperatorProcess,
) -> None:
    ns = namespace
    apply(api_client, _pem_secret("shop-cert", "first.example"), cert_namespace)
    https = {
        "name": "https",
        "port": 8443,
        "protocol": "HTTPS",
        "tls": {"certificateRefs": [{"name": "shop-cert", "namespace": cert_namespace}]},
    }
    apply(api_client, gateway(class_name, https), ns)
    eventually(
        lambda: _listener(api_client, ns, "ResolvedRefs") == ("False", "RefNotPermitted"),
        timeout=30,
        what="ResolvedRefs=False RefNotPermitted",
    )
    grant = {
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "gateways-of-shop"},
        "spec": {
            "from": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": ns}],
            "to": [{"group": "", "kind": "Secret", "name": "shop-cert"}],
        },
    }
    apply(api_client, grant, cert_namespace)
    eventually(
        lambda: _listener(api_client, ns, "Programmed") == ("True", "Programmed"),
        timeout=30,
        what="listener Programmed",
    )
    assert _listener(api_client, ns, "ResolvedRefs") == ("True", "ResolvedRefs")

    core = client.CoreV1Api(api_client)

    def copy() -> Any:
        copies = core.list_namespaced_secret(
            ns, label_selector="app.kubernetes.io/name=meshgate-gateway-certificate"
        ).items
        return copies[0] if len(copies) == 1 else None

    made = eventually(copy, timeout=30, what="the certificate copy")
    source = core.read_namespaced_secret("shop-cert", cert_namespace)
    assert made.data == source.data
    (owner,) = made.metadata.owner_references
    assert (owner.kind, owner.name, owner.api_version) == (
        "Gateway",
        "edge",
        "gateway.networking.k8s.io/v1",
    )
    deployment = get(api_client, "Deployment", ns, "meshgate-gw-edge", api_version="apps/v1")
    assert deployment is not None
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert made.metadata.name in {(v.get("secret") or {}).get("secretName") for v in volumes}

    rotated = _pem_secret("shop-cert", "second.example")
    apply(api_client, rotated, cert_namespace)
    eventually(
        lambda: (c := copy()) is not None and c.data["tls.crt"] == rotated["data"]["tls.crt"],
        timeout=30,
        what="the rotated certificate in the copy",
    )
