"""PeerAuthentication DISABLE is plaintext only: the callers' clusters to a workload whose every
ready endpoint runs DISABLE on its target port speak plaintext to the app port; anything else
that is meshed keeps mTLS."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from golden_cases import snapshot

from meshgate.compile import compile_snapshot

CLUSTER = """
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {meshgate.io/inject: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: meshgate-system, labels: {meshgate.io/inject: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: shop}
spec: {selector: {app: backend}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: backend-1, namespace: shop, labels: {kubernetes.io/service-name: backend}}
ports: [{name: http, port: 8080}]
endpoints:
  - {addresses: [10.0.0.1], conditions: {ready: true}, targetRef: {kind: Pod, name: backend-a}}
  - {addresses: [10.0.0.2], conditions: {ready: true}, targetRef: {kind: Pod, name: backend-b}}
---
apiVersion: v1
kind: Pod
metadata: {name: backend-a, namespace: shop, labels: {app: backend, track: stable}}
---
apiVersion: v1
kind: Pod
metadata: {name: backend-b, namespace: shop, labels: {app: backend, track: canary}}
"""


def peer(name: str, namespace: str, spec: dict[str, Any]) -> str:
    body = {
        "apiVersion": "meshgate.io/v1alpha1",
        "kind": "PeerAuthentication",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    return "---\n" + yaml.safe_dump(body)


def backend_tls(*policies: str) -> str:
    docs = [d for d in yaml.safe_load_all(CLUSTER + "".join(policies)) if d]
    result = compile_snapshot(snapshot(docs))
    (mesh,) = [m for m in result.meshes if m.namespace == "shop"]
    config = json.loads(mesh.config_json)
    (cluster,) = [c for c in config["clusters"] if "backend" in c["name"]]
    return str(cluster.get("tls", {}).get("mode", "DISABLE"))


DISABLE = {"mtls": {"mode": "DISABLE"}}


@pytest.mark.parametrize(
    ("policies", "mode"),
    [
        ((), "MESH"),
        (
            (
                peer(
                    "backend", "shop", {"selector": {"matchLabels": {"app": "backend"}}, **DISABLE}
                ),
            ),
            "DISABLE",
        ),
        ((peer("ns", "shop", DISABLE),), "DISABLE"),
        ((peer("mesh", "meshgate-system", DISABLE),), "DISABLE"),
        ((peer("ns", "shop", {"mtls": {"mode": "PERMISSIVE"}}),), "MESH"),
        ((peer("ns", "shop", {"mtls": {"mode": "STRICT"}}),), "MESH"),
        # only the canary pod is DISABLE: the other still expects mTLS, so callers keep it
        (
            (
                peer(
                    "canary", "shop", {"selector": {"matchLabels": {"track": "canary"}}, **DISABLE}
                ),
            ),
            "MESH",
        ),
        # DISABLE on the target port only
        (
            (
                peer(
                    "port",
                    "shop",
                    {
                        "selector": {"matchLabels": {"app": "backend"}},
                        "mtls": {"mode": "STRICT"},
                        "portLevelMtls": {8080: DISABLE["mtls"]},
                    },
                ),
            ),
            "DISABLE",
        ),
        # DISABLE on another port leaves this one STRICT
        (
            (
                peer(
                    "other-port",
                    "shop",
                    {
                        "selector": {"matchLabels": {"app": "backend"}},
                        "portLevelMtls": {9090: DISABLE["mtls"]},
                    },
                ),
            ),
            "MESH",
        ),
        # a workload policy that is not DISABLE overrides a DISABLE namespace
        (
            (
                peer("ns", "shop", DISABLE),
                peer(
                    "backend",
                    "shop",
                    {"selector": {"matchLabels": {"app": "backend"}}, "mtls": {"mode": "STRICT"}},
                ),
            ),
            "MESH",
        ),
    ],
)
def test_callers_speak_plaintext_only_to_a_destination_that_takes_nothing_else(
    policies: tuple[str, ...], mode: str
) -> None:
    assert backend_tls(*policies) == mode
