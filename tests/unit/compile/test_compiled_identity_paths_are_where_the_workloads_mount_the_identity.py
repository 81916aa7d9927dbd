"""The identity files a compiled config names are where the pods mount the identity Secret.

A sidecar's config (ConfigMap `meshgate-mesh`, and its parts when large) is read by a proxy the
injection patch adds; a gateway's config by the Deployment the renderer writes. Both must agree
on the paths, or the proxy starts without its certificate and every mTLS upstream fails.
"""

from __future__ import annotations

import copy
import posixpath
from typing import Any

from golden_cases import SETTINGS, documents, snapshot

from meshgate.compile import compile_snapshot
from meshgate.compile.paths import MESH_CONFIG_MAP, gateway_identity_secret, mesh_config_part
from meshgate.inject import jsonpatch_ops, names
from meshgate.inject.patch import inject
from meshgate.inject.policy import NamespaceInfo
from meshgate.inject.settings import InjectSettings
from meshgate.render import render_gateway
from meshproxy.configparts import MAX_PARTS

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "app", "namespace": "shop"},
    "spec": {"serviceAccountName": "orders", "containers": [{"name": "app", "image": "app"}]},
}


def _mount_dir(containers: list[dict[str, Any]], volumes: list[dict[str, Any]], secret: str) -> str:
    volume = next(v["name"] for v in volumes if (v.get("secret") or {}).get("secretName") == secret)
    for container in containers:
        for mount in container.get("volumeMounts") or []:
            if mount["name"] == volume:
                return str(mount["mountPath"])
    raise AssertionError(f"no container mounts Secret {secret}")


def test_sidecar_config_identity_files_are_in_the_injected_identity_mount() -> None:
    result = compile_snapshot(
        snapshot(documents("mesh-namespace-default-routes-and-inbound-ports"))
    )
    mesh = result.meshes[0]
    identity = mesh.config.identity
    assert identity is not None

    pod = copy.deepcopy(POD)
    pod["metadata"]["namespace"] = mesh.namespace
    injection = inject(
        pod, NamespaceInfo(mesh.namespace, {names.INJECT_KEY: "enabled"}), InjectSettings()
    )
    jsonpatch_ops.apply_in_place(pod, injection.ops)
    spec = pod["spec"]
    proxies = [
        c
        for c in [*spec.get("initContainers", []), *spec["containers"]]
        if c["name"] == names.PROXY_CONTAINER
    ]
    mounted = _mount_dir(proxies, spec["volumes"], f"{names.IDENTITY_SECRET_PREFIX}orders")
    for path in (identity.cert_file, identity.key_file, identity.ca_file):
        assert posixpath.dirname(path) == mounted
    config_dir = _config_dir(proxies, spec["volumes"])
    assert posixpath.dirname(names.CONFIG_FILE) == config_dir


def _config_dir(containers: list[dict[str, Any]], volumes: list[dict[str, Any]]) -> str:
    """Where the sidecar mounts the one volume holding the mesh ConfigMap and all its parts."""
    wanted = {MESH_CONFIG_MAP, *(mesh_config_part(n) for n in range(MAX_PARTS))}
    volume = next(
        v["name"]
        for v in volumes
        if {s["configMap"]["name"] for s in (v.get("projected") or {}).get("sources", [])} == wanted
    )
    for container in containers:
        for mount in container.get("volumeMounts") or []:
            if mount["name"] == volume:
                return str(mount["mountPath"])
    raise AssertionError("no container mounts the mesh ConfigMap")


def test_gateway_config_identity_files_are_in_the_deployments_identity_mount() -> None:
    docs = documents("gateway-basic-http")
    # A meshed backend namespace makes the gateway a mesh client with an identity.
    docs.append(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "shop", "labels": {"meshgate.io/inject": "enabled"}},
        }
    )
    result = compile_snapshot(snapshot(docs))
    (gw,) = result.gateways
    identity = gw.config.identity
    assert identity is not None
    assert {c.tls.mode for c in gw.config.clusters} == {"MESH"}
    deployment = next(o for o in render_gateway(gw, SETTINGS) if o["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    mounted = _mount_dir(pod["containers"], pod["volumes"], gateway_identity_secret("edge"))
    for path in (identity.cert_file, identity.key_file, identity.ca_file):
        assert posixpath.dirname(path) == mounted
