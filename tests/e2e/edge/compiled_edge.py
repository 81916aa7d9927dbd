"""Operator-compiled gateway configs for e2e tests: Kubernetes YAML in, the gateway proxy's
config out, with its mounted files written where the config names them.

What a pod's mounts and addresses decide is re-pointed at this test (the edge Secret's and the
certificate Secrets' directories, the listener address and port); everything the compiler
decided stays as it is. Secrets are given as plain text in `stringData`.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from typing import Any

import yaml
from compiled_snapshot import snapshot

from meshgate.compile import compile_snapshot
from meshgate.compile.paths import CERTS_DIR, EDGE_SECRET_DIR


@dataclasses.dataclass(frozen=True)
class CompiledGateway:
    config: dict[str, Any]
    statuses: dict[str, dict[str, Any]]  # "Kind namespace/name" -> status body


def compile_gateway(manifests: str, root: Path, port: int) -> CompiledGateway:
    """Compile, write the gateway's files under `root`, serve its one port on 127.0.0.1:`port`."""
    certs: dict[str, dict[str, str]] = {}
    docs = [d for d in yaml.safe_load_all(manifests) if d]
    for doc in docs:
        if doc["kind"] == "Secret":
            text = doc.pop("stringData", {})
            doc["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in text.items()}
            certs[doc["metadata"]["name"]] = text
    snap = snapshot(docs)
    result = compile_snapshot(snap)
    (gateway,) = result.gateways
    edge_dir, certs_dir = root / "edge", root / "certs"
    edge_dir.mkdir(parents=True, exist_ok=True)
    for name, text in gateway.edge_files:
        (edge_dir / name).write_text(text)
    for secret in gateway.tls_secrets:
        (certs_dir / secret).mkdir(parents=True, exist_ok=True)
        for key, text in certs[secret].items():
            (certs_dir / secret / key).write_text(text)
    text = gateway.config_json.replace(EDGE_SECRET_DIR, str(edge_dir))
    config: dict[str, Any] = json.loads(text.replace(CERTS_DIR, str(certs_dir)))
    (listener,) = config["listeners"]
    listener.update(address="127.0.0.1", port=port)
    statuses = {f"{s.kind} {s.namespace}/{s.name}": s.body() for s in result.statuses}
    return CompiledGateway(config, statuses)


def backend(port: int, name: str = "echo") -> str:
    """A Service and its EndpointSlice for a backend listening on 127.0.0.1:`port`."""
    return f"""
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec: {{ports: [{{name: http, port: {port}, targetPort: {port}}}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: {name}-1, labels: {{kubernetes.io/service-name: {name}}}}}
ports: [{{name: http, port: {port}}}]
endpoints: [{{addresses: [127.0.0.1], conditions: {{ready: true}}}}]
"""
