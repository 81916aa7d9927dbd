"""API keys, their digests and Redis URLs from Secrets reach the gateway only through its
generated Secret: never its ConfigMap, Deployment, Service, a status or an Event message."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from golden_cases import SETTINGS, documents, snapshot

from meshgate.compile import compile_snapshot
from meshgate.render import render_gateway, render_gateway_secrets

CASES = (
    "edge-api-keys-on-route-become-digests-in-the-generated-secret",
    "edge-rate-limits-local-and-global-on-gateway-and-route",
)


def _secret_values(docs: list[dict[str, Any]]) -> list[str]:
    values = []
    for doc in docs:
        if doc["kind"] == "Secret":
            values += [str(v).strip() for v in (doc.get("stringData") or {}).values()]
    return values


def test_keys_digests_and_redis_urls_appear_only_in_the_generated_secret() -> None:
    for case in CASES:
        docs = documents(case)
        values = _secret_values(docs)
        digests = [hashlib.sha256(v.encode()).hexdigest() for v in values]
        result = compile_snapshot(snapshot(docs))
        (gw,) = result.gateways
        public = json.dumps(
            {
                "objects": render_gateway(gw, SETTINGS),
                "config": gw.config_json,
                # Events are posted with the condition messages of these statuses.
                "status": [s.body() for s in result.statuses],
            }
        )
        for secret in values + digests:
            assert secret not in public, f"{case}: Secret material in public output"
        (generated,) = render_gateway_secrets(gw)
        files = "".join(text for _, text in gw.edge_files)
        # The material is there, in the one place it belongs.
        assert any(v in files or d in files for v, d in zip(values, digests, strict=True))
        assert generated["kind"] == "Secret"
        assert generated["metadata"]["name"] == "meshgate-gw-edge-apikeys"


def test_api_keys_are_stored_as_sha256_of_the_key_and_referenced_by_file() -> None:
    result = compile_snapshot(
        snapshot(documents("edge-api-keys-on-route-become-digests-in-the-generated-secret"))
    )
    (gw,) = result.gateways
    files = dict(gw.edge_files)
    entries = json.loads(files["apikeys.shop.partners.json"])
    assert entries == [
        {"consumer": "acme", "sha256": hashlib.sha256(b"acme-secret-key-1").hexdigest()},
        # A trailing newline (a key written with `echo`) is not part of the key.
        {"consumer": "globex", "sha256": hashlib.sha256(b"globex-secret-key-2").hexdigest()},
    ]
    (authn,) = gw.config.authn
    assert authn.api_key is not None
    assert authn.api_key.keys == []
    assert authn.api_key.keys_file == "/etc/meshgate/edge/apikeys.shop.partners.json"
    deployment = next(o for o in render_gateway(gw, SETTINGS) if o["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "edge")
    assert volume["secret"]["secretName"] == "meshgate-gw-edge-apikeys"
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "edge")
    assert mount["mountPath"] == "/etc/meshgate/edge"
