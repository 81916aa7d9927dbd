"""A Gateway renders ConfigMap, Deployment, Service (+ PDB above one replica), owned by it."""

from __future__ import annotations

import base64
import json
import random
from dataclasses import replace
from typing import Any

from golden_cases import SETTINGS, documents, snapshot

from meshgate.compile import compile_snapshot
from meshgate.render import render_gateway
from meshproxy.configparts import split


def _objects(case: str) -> dict[str, dict[str, Any]]:
    gw = compile_snapshot(snapshot(documents(case))).gateways[0]
    return {o["kind"]: o for o in render_gateway(gw, SETTINGS)}


def test_two_replicas_get_a_pdb_and_one_replica_none() -> None:
    assert "PodDisruptionBudget" in _objects("gateway-basic-http")
    assert "PodDisruptionBudget" not in _objects("gateway-single-replica-has-no-pdb")


def test_proxy_runs_non_root_with_read_only_root_fs_and_ready_probe() -> None:
    dep = _objects("gateway-basic-http")["Deployment"]
    pod = dep["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": 15090}
    assert container["args"] == [
        *("--config", "/etc/meshgate/config.json"),
        *("--stats-port", "15090"),
        *("--log-level", "info"),
    ]
    sources = pod["volumes"][0]["projected"]["sources"]
    assert sources[0] == {"configMap": {"name": "meshgate-gw-edge"}}
    assert sources[1] == {"configMap": {"name": "meshgate-gw-edge-config-0", "optional": True}}
    assert "annotations" not in dep["spec"]["template"]["metadata"]


def test_every_object_is_owned_by_the_gateway_and_labelled_managed_by_meshgate() -> None:
    for obj in _objects("gateway-basic-http").values():
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "meshgate"
        (owner,) = obj["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["controller"]) == ("Gateway", "edge", True)


def test_tls_secret_is_mounted_where_the_config_points() -> None:
    objs = _objects("gateway-https-with-tls-secret")
    mounts = objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {
        "name": "cert-0",
        "mountPath": "/etc/meshgate/certs/shop-tls",
        "readOnly": True,
    } in mounts
    assert (
        '"certFile":"/etc/meshgate/certs/shop-tls/tls.crt"'
        in objs["ConfigMap"]["data"]["config.json"]
    )


def test_service_exposes_listener_ports_with_the_spec_type() -> None:
    svc = _objects("gateway-single-replica-has-no-pdb")["Service"]
    assert svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["ports"] == [
        {"name": "web", "port": 8080, "targetPort": 8080, "protocol": "TCP"}
    ]
    assert svc["metadata"]["annotations"] == {"example.com/team": "edge"}


def test_a_config_too_large_for_one_object_is_written_as_parts_then_their_index() -> None:
    gw = compile_snapshot(snapshot(documents("gateway-basic-http"))).gateways[0]
    rng = random.Random(0)
    text = json.dumps([f"{rng.getrandbits(128):x}" for _ in range(60_000)])
    parts = split(text, gw.version)
    assert parts is not None
    objects = render_gateway(replace(gw, config_json=text, config_parts=parts), SETTINGS)
    maps = [o for o in objects if o["kind"] == "ConfigMap"]
    names = [o["metadata"]["name"] for o in maps]
    # Parts first: a proxy that sees the new index finds its parts already written.
    assert names == [f"meshgate-gw-edge-config-{n}" for n in range(len(parts.parts))] + [
        "meshgate-gw-edge"
    ]
    assert maps[-1]["data"] == {"config.json": parts.index_json}
    for obj, (file, chunk) in zip(maps, parts.parts, strict=False):
        assert base64.b64decode(obj["binaryData"][file]) == chunk
        assert len(json.dumps(obj)) < 1024 * 1024
    assert all("meshgate.io/config-version" in o["metadata"]["annotations"] for o in maps)
