"""A meshed namespace's sidecar config as ConfigMap `meshgate-mesh`. Pure.

No ownerReference: a namespace cannot own objects inside itself in a way the garbage collector
acts on earlier than namespace deletion does anyway, so the operator deletes the ConfigMap itself
when the namespace stops being meshed (it lists its own objects by the managed-by label).
"""

from __future__ import annotations

from meshgate.compile.paths import CONFIG_KEY, MESH_CONFIG_MAP
from meshgate.compile.result import MeshOutput

from .objects import KubeObject, config_map, labels


def render_mesh(out: MeshOutput) -> list[KubeObject]:
    return [
        config_map(
            MESH_CONFIG_MAP,
            out.namespace,
            {CONFIG_KEY: out.config_json},
            out.version,
            labels(**{"app.kubernetes.io/name": "meshgate-mesh"}),
            None,
        )
    ]
