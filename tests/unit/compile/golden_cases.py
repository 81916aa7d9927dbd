"""Golden-file helpers: load a case (Kubernetes YAML) into a snapshot, compile and render it, and
compare the result with the stored expectation.

`MESHGATE_UPDATE_GOLDEN=1` rewrites the expectations instead of comparing; a mismatch fails with
a unified diff. Cases are `tests/golden/compile/cases/*.yaml` plus one per `examples/` directory,
completed by `tests/golden/compile/examples-cluster.yaml` (the Services and Pods they refer to).
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import json
import os
from pathlib import Path
from typing import Any

import yaml

from meshgate.compile import MeshSettings, compile_snapshot, snapshot_from_bodies
from meshgate.compile.edge import edge_secret_refs, edge_secrets_from_bodies
from meshgate.compile.snapshot import Snapshot
from meshgate.gatewayapi import GROUP, Adapted, adapt
from meshgate.gatewayapi.objects import objects_from_bodies
from meshgate.render import render_gateway, render_gateway_secrets, render_mesh
from meshgate.settings import Settings

REPO = Path(__file__).resolve().parents[3]
GOLDEN = REPO / "tests" / "golden" / "compile"
CASES = GOLDEN / "cases"
EXPECTED = GOLDEN / "expected"
EXAMPLES = REPO / "examples"
EXAMPLES_CLUSTER = GOLDEN / "examples-cluster.yaml"

SETTINGS = Settings(proxy_image="meshproxy:golden")
CORE = {"Service", "EndpointSlice", "Pod", "Secret", "Namespace"}
CHART_GATEWAY_CLASS = {
    "apiVersion": f"{GROUP}/v1",
    "kind": "GatewayClass",
    "metadata": {"name": "meshgate", "generation": 1},
    "spec": {"controllerName": "meshgate.io/gateway-controller"},
}


def case_names() -> list[str]:
    hand = [p.stem for p in sorted(CASES.glob("*.yaml"))]
    examples = [
        f"example-{d.name}"
        for d in sorted(EXAMPLES.iterdir())
        if d.is_dir() and any(d.glob("*.yaml"))  # examples/apps holds images, not manifests
    ]
    return hand + examples


def documents(name: str) -> list[dict[str, Any]]:
    if name.startswith("example-"):
        paths = [*sorted((EXAMPLES / name.removeprefix("example-")).glob("*.yaml"))]
        paths.append(EXAMPLES_CLUSTER)
    else:
        paths = [CASES / f"{name}.yaml"]
    docs = []
    for path in paths:
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def snapshot(docs: list[dict[str, Any]], default_namespace: str = "shop") -> Snapshot:
    custom: dict[str, list[Any]] = {}
    core: dict[str, list[Any]] = {k: [] for k in CORE}
    for doc in docs:
        kind = doc.get("kind", "")
        meta = doc.setdefault("metadata", {})
        if kind != "Namespace":
            meta.setdefault("namespace", default_namespace)
        meta.setdefault("generation", 1)
        if str(doc.get("apiVersion", "")).startswith("meshgate.io/"):
            custom.setdefault(kind, []).append(doc)
        elif kind in CORE:
            core[kind].append(doc)
    snap = snapshot_from_bodies(
        settings=MeshSettings(operator_namespace="meshgate-system"),
        custom=custom,
        services=core["Service"],
        endpoint_slices=core["EndpointSlice"],
        pods=core["Pod"],
        secrets=core["Secret"],
        namespaces=core["Namespace"],
    )
    # As the I/O layer does: the Secrets edge policies name, reduced to digests and texts.
    uses = edge_secret_refs(snap.edge_authentications, snap.rate_limit_policies)
    snap = dataclasses.replace(snap, edge_secrets=edge_secrets_from_bodies(core["Secret"], uses))
    return gateway_api(docs, snap).extend(snap)


def gateway_api(docs: list[dict[str, Any]], snap: Snapshot) -> Adapted:
    """The Gateway API documents adapted, as the operator does when `gatewayAPI.enabled`; the
    chart's GatewayClass `meshgate` is implied whenever there are any."""
    standard = [d for d in docs if str(d.get("apiVersion", "")).startswith(f"{GROUP}/")]
    if not standard:
        return Adapted()
    if not any(d["kind"] == "GatewayClass" for d in standard):
        standard.append(CHART_GATEWAY_CLASS)
    return adapt(objects_from_bodies(standard), snap, replicas=SETTINGS.gateway_api_replicas)


def render_case(name: str) -> str:
    """Everything the compiler and renderer produce for one case, as stable, diffable JSON."""
    docs = documents(name)
    snap = snapshot(docs)
    result = compile_snapshot(snap)
    configs: dict[str, Any] = {}
    objects: list[Any] = []
    for gw in result.gateways:
        configs[f"gateway {gw.gateway.key}"] = json.loads(gw.config_json)
        objects += render_gateway(gw, SETTINGS)
        for secret in render_gateway_secrets(gw):
            # Decoded, so the golden file shows what the proxy reads.
            secret["data"] = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
            objects.append(secret)
    for mesh in result.meshes:
        configs[f"mesh {mesh.namespace}"] = json.loads(mesh.config_json)
        objects += render_mesh(mesh)
    for obj in objects:
        # The config itself is already above; keep one copy in the file.
        if obj["kind"] == "ConfigMap":
            text = obj["data"]["config.json"]
            obj["data"]["config.json"] = f"<proxy config, {len(text)} bytes>"
    adapted = gateway_api(docs, snap)
    # The compiler's report on adapted objects is never written (they are not meshgate.io
    # objects); the Gateway API's own status is.
    statuses = {
        f"{s.kind} {s.namespace}/{s.name}": s.body()
        for s in result.statuses
        if s.key not in adapted.compiled_keys
    }
    for st in adapted.statuses:
        statuses[f"{GROUP}/{st.kind} {st.namespace}/{st.name}"] = st.body
    out = {"configs": configs, "objects": objects, "status": statuses}
    if result.retained:
        out["retained"] = sorted(result.retained)
    return json.dumps(out, indent=2, sort_keys=True) + "\n"


def check_golden(name: str, actual: str) -> None:
    path = EXPECTED / f"{name}.json"
    if os.environ.get("MESHGATE_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        return
    expected = path.read_text() if path.exists() else ""
    if expected != actual:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"golden/{path.name}",
                tofile="compiled",
                n=2,
            )
        )
        raise AssertionError(
            f"{name}: output differs from {path.relative_to(REPO)} "
            f"(refresh with MESHGATE_UPDATE_GOLDEN=1 if intended)\n{diff[:20000]}"
        )
