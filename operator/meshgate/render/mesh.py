"""A meshed namespace's sidecar config as ConfigMap `meshgate-mesh`. Pure.

A config too large for one ConfigMap (`meshproxy.configparts`: over 512 KiB, a few hundred Services
in one namespace) is written as part ConfigMaps `meshgate-mesh-config-<n>` first, then the index in
`meshgate-mesh`: a sidecar or config server that reads the new index finds its parts already
there. Parts the new index no longer names are deleted after it is written (the outputs sync
deletes what is not desired once every apply is done), and every part's file name carries its
version, so an old index never assembles a new part. The injected sidecar mounts the index and
`MAX_PARTS` optional parts in one projected volume (`meshgate.inject.sidecar`).

No ownerReference: a namespace cannot own objects inside itself in a way the garbage collector
acts on earlier than namespace deletion does anyway, so the operator deletes the ConfigMaps itself
when the namespace stops being meshed (it lists its own objects by the managed-by label).
"""

from __future__ import annotations

import base64

from meshgate.compile.paths import CONFIG_KEY, MESH_CONFIG_MAP, mesh_config_part
from meshgate.compile.result import MeshOutput

from .objects import KubeObject, config_map, labels


def render_mesh(out: MeshOutput) -> list[KubeObject]:
    """The config inline, or its parts and then the index naming them: the order to apply."""
    object_labels = labels(**{"app.kubernetes.io/name": "meshgate-mesh"})
    split = out.config_parts
    if split is None:
        data = {CONFIG_KEY: out.config_json}
        return [config_map(MESH_CONFIG_MAP, out.namespace, data, out.version, object_labels, None)]
    parts = [
        config_map(
            mesh_config_part(number),
            out.namespace,
            {},
            out.version,
            object_labels,
            None,
            binary_data={file: base64.b64encode(chunk).decode("ascii")},
        )
        for number, (file, chunk) in enumerate(split.parts)
    ]
    index = {CONFIG_KEY: split.index_json}
    return [
        *parts,
        config_map(MESH_CONFIG_MAP, out.namespace, index, out.version, object_labels, None),
    ]
