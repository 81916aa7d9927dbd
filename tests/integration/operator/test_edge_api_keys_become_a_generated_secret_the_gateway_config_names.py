"""An EdgeAuthentication with an API key Secret: the operator writes the keys' sha256 digests into
the gateway's generated Secret, the gateway config names that file, and neither the ConfigMap nor
any status carries a key or a digest. Rotating a key rewrites the digest."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from kubernetes.client import ApiClient
from manifests import API, gateway, route, service
from operator_harness import ApiError, OperatorProcess, apply, call, condition, eventually, get

KEYS_FILE = "/etc/meshgate/edge/apikeys.{ns}.partners.json"


def _put(api: ApiClient, ns: str, path: str, obj: dict[str, Any]) -> None:
    obj["metadata"]["namespace"] = ns
    call(
        api,
        "PATCH",
        f"{path}/{obj['metadata']['name']}",
        body=obj,
        query=[("fieldManager", "test-user"), ("force", "true")],
        content_type="application/apply-patch+yaml",
    )


def _secret(api: ApiClient, ns: str, name: str) -> dict[str, Any] | None:
    try:
        return call(api, "GET", f"/api/v1/namespaces/{ns}/secrets/{name}")
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def _keys(api: ApiClient, ns: str) -> list[dict[str, str]] | None:
    secret = _secret(api, ns, "meshgate-gw-edge-apikeys")
    if secret is None:
        return None
    raw = base64.b64decode(secret["data"][f"apikeys.{ns}.partners.json"])
    entries: list[dict[str, str]] = json.loads(raw)
    return entries


def _key_secret(ns: str, acme_key: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "partner-keys", "namespace": ns},
        "type": "Opaque",
        "stringData": {"acme": acme_key},
    }


def test_api_key_digests_reach_the_gateway_through_its_generated_secret_only(
    api_client: ApiClient, namespace: str, running_operator: OperatorProcess
) -> None:
    ns = namespace
    secrets_path = f"/api/v1/namespaces/{ns}/secrets"
    _put(api_client, ns, secrets_path, _key_secret(ns, "first-key-of-acme"))
    apply(api_client, service("orders"), ns)
    apply(api_client, gateway(replicas=1), ns)
    apply(api_client, route("partner-api", "orders", "/partners"), ns)
    policy = {
        "apiVersion": API,
        "kind": "EdgeAuthentication",
        "metadata": {"name": "partners", "namespace": ns},
        "spec": {
            "targetRefs": [{"kind": "Route", "name": "partner-api"}],
            "apiKeys": {"secretRefs": [{"name": "partner-keys"}], "header": "x-api-key"},
        },
    }
    _put(api_client, ns, f"/apis/{API}/namespaces/{ns}/edgeauthentications", policy)

    first = hashlib.sha256(b"first-key-of-acme").hexdigest()
    entries = eventually(lambda: _keys(api_client, ns), timeout=20, what="the apikeys Secret")
    assert entries == [{"consumer": "acme", "sha256": first}]

    def config() -> dict[str, Any] | None:
        cm = get(api_client, "ConfigMap", "v1", ns, "meshgate-gw-edge")
        return cm if cm and "authn" in cm["data"]["config.json"] else None

    cm = eventually(config, timeout=20, what="a gateway config with authn")
    text = cm["data"]["config.json"]
    cfg = json.loads(text)
    (authn,) = cfg["authn"]
    assert authn["apiKey"]["keysFile"] == KEYS_FILE.format(ns=ns)
    assert authn["apiKey"]["keys"] == []
    (route_cfg,) = cfg["listeners"][0]["virtualHosts"][0]["routes"]
    assert route_cfg["authn"] == [f"{ns}/partners"]
    assert "first-key-of-acme" not in text
    assert first not in text

    # Applied after the ConfigMap, in the same reconcile.
    deployment = eventually(
        lambda: get(api_client, "Deployment", "apps/v1", ns, "meshgate-gw-edge"),
        timeout=20,
        what="the gateway Deployment",
    )
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    edge = next(v for v in volumes if v["name"] == "edge")
    assert edge["secret"]["secretName"] == "meshgate-gw-edge-apikeys"

    def accepted() -> dict[str, Any] | None:
        obj = call(api_client, "GET", f"/apis/{API}/namespaces/{ns}/edgeauthentications/partners")
        cond = condition(obj, "Accepted")
        return obj if cond and cond["status"] == "True" else None

    status = eventually(accepted, timeout=20, what="EdgeAuthentication Accepted=True")
    assert status["status"]["attachedTo"] == [
        {"group": "meshgate.io", "kind": "Route", "namespace": ns, "name": "partner-api"}
    ]
    assert first not in json.dumps(status["status"])

    # A rotated key: the digest in the generated Secret follows.
    _put(api_client, ns, secrets_path, _key_secret(ns, "second-key-of-acme"))
    second = hashlib.sha256(b"second-key-of-acme").hexdigest()
    eventually(
        lambda: _keys(api_client, ns) == [{"consumer": "acme", "sha256": second}],
        timeout=20,
        what="the rotated key's digest",
    )
