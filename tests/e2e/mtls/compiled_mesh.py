"""Operator-compiled sidecar configs for e2e tests: Kubernetes YAML in, the mesh config the
operator would publish for a namespace out, re-pointed at this test's loopback ports and files.

Only what a pod's mounts and addresses decide is rewritten (listener addresses and ports, the
identity files, the peer sidecar's inbound port); everything the compiler decided stays as is.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from compiled_snapshot import snapshot

from meshgate.compile import compile_snapshot


def compile_mesh(manifests: str, namespace: str = "shop") -> dict[str, Any]:
    """The proxy config the operator compiles for `namespace`'s sidecars."""
    docs = [d for d in yaml.safe_load_all(manifests) if d]
    snap = snapshot(docs, default_namespace=namespace)
    result = compile_snapshot(snap)
    (mesh,) = [m for m in result.meshes if m.namespace == namespace]
    config: dict[str, Any] = json.loads(mesh.config_json)
    return config


def as_pod(
    config: dict[str, Any],
    role: str,
    port: int,
    identity: dict[str, str],
    peer_inbound_port: int | None = None,
) -> dict[str, Any]:
    """One pod's copy: only the `role` listener (inbound or outbound), on 127.0.0.1:`port`."""
    pod = json.loads(json.dumps(config))
    pod["listeners"] = [
        {**lst, "address": "127.0.0.1", "port": port}
        for lst in pod["listeners"]
        if lst["role"] == role
    ]
    pod["identity"] = identity
    pod["limits"]["drainTimeout"] = 2
    if peer_inbound_port is not None:
        for cluster in pod["clusters"]:
            cluster["meshInboundPort"] = peer_inbound_port
    return pod
