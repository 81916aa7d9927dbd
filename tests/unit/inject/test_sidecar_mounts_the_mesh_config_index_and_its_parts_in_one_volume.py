"""The injected sidecar reads its namespace's config whole, inline or in parts: the patch mounts
`meshgate-mesh` and `MAX_PARTS` optional part ConfigMaps in one projected volume at the config
directory. Projected here as a kubelet does (an optional ConfigMap that does not exist adds
nothing, every key of one that does becomes a file), from the objects the renderer writes."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import msgspec
import pytest

from meshgate.compile.result import MeshOutput
from meshgate.inject import jsonpatch_ops, names
from meshgate.inject.patch import inject
from meshgate.render import render_mesh
from meshproxy.config import ProxyConfig
from meshproxy.configparts import MAX_PARTS, PART_BYTES, ConfigPartsError, read_config, split

from .cases import case

Objects = dict[str, dict[str, Any]]


def _mesh_objects(version: str, size: int) -> tuple[bytes, Objects]:
    """The ConfigMaps the operator writes for a config of about `size` bytes, by name."""
    text = json.dumps({"version": version, "noise": random.Random(version).randbytes(size).hex()})
    cfg = msgspec.json.decode(b'{"node":{"role":"sidecar"}}', type=ProxyConfig)
    cfg = msgspec.structs.replace(cfg, version=version)
    out = MeshOutput("shop", cfg, text, split(text, version))
    return text.encode(), {o["metadata"]["name"]: o for o in render_mesh(out)}


def _injected_volume() -> dict[str, Any]:
    c = case("one-container")
    pod = jsonpatch_ops.apply(c.pod, inject(c.pod, c.namespace, c.settings).ops)
    proxy = next(
        p
        for p in [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]
        if p["name"] == names.PROXY_CONTAINER
    )
    (mount,) = [m for m in proxy["volumeMounts"] if m["name"] == names.CONFIG_VOLUME]
    assert mount["mountPath"] == str(Path(names.CONFIG_FILE).parent)
    (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == names.CONFIG_VOLUME]
    return dict(volume)


def _project(volume: dict[str, Any], cluster: Objects, into: Path) -> Path:
    """The volume's files, as the kubelet writes them; the path of the config file in it."""
    into.mkdir(parents=True, exist_ok=True)
    for old in into.iterdir():
        old.unlink()
    sources = (volume.get("projected") or {}).get("sources") or [{"configMap": volume["configMap"]}]
    for source in sources:
        ref = source["configMap"]
        obj = cluster.get(ref["name"])
        if obj is None:
            assert ref.get("optional"), f"the Pod would wait for ConfigMap {ref['name']}"
            continue
        for key, value in (obj.get("data") or {}).items():
            (into / key).write_text(value)
        for key, value in (obj.get("binaryData") or {}).items():
            (into / key).write_bytes(base64.b64decode(value))
    return into / Path(names.CONFIG_FILE).name


def test_the_volume_is_the_index_and_every_part_the_renderer_may_write() -> None:
    volume = _injected_volume()
    sources = [s["configMap"] for s in volume["projected"]["sources"]]
    assert sources[0] == {"name": "meshgate-mesh"}
    assert sources[1:] == [
        {"name": f"meshgate-mesh-config-{n}", "optional": True} for n in range(MAX_PARTS)
    ]


def test_a_pod_reads_a_small_config_as_it_is(tmp_path: Path) -> None:
    config, cluster = _mesh_objects("v1", 1000)
    assert list(cluster) == ["meshgate-mesh"]
    assert read_config(str(_project(_injected_volume(), cluster, tmp_path))) == config


def test_a_config_that_grows_into_parts_after_the_pod_started_is_read_whole(
    tmp_path: Path,
) -> None:
    volume = _injected_volume()  # injected while the config was small
    _, small = _mesh_objects("v1", 1000)
    _project(volume, small, tmp_path)
    config, big = _mesh_objects("v2", PART_BYTES * 2)  # three parts now
    assert len(big) == 4
    assert read_config(str(_project(volume, big, tmp_path))) == config


def test_a_new_index_projected_with_the_old_parts_is_refused_not_mixed(tmp_path: Path) -> None:
    # The kubelet may project between the operator's writes: parts of v2 and the index of v1,
    # or (here) the index of v3 while the parts still hold v2.
    _, v2 = _mesh_objects("v2", PART_BYTES * 2)
    _, v3 = _mesh_objects("v3", PART_BYTES * 2)
    mixed = {**v2, "meshgate-mesh": v3["meshgate-mesh"]}
    path = _project(_injected_volume(), mixed, tmp_path)
    with pytest.raises(ConfigPartsError, match=r"part-0-v3\.gz of version v3 cannot be read"):
        read_config(str(path))


def test_a_pod_injected_before_parts_existed_finds_the_index_without_its_parts(
    tmp_path: Path,
) -> None:
    # Its volume is the ConfigMap alone, and a Pod's volumes never change: such a sidecar keeps
    # its last good config from files (and follows the config server's stream, which assembles)
    # until the Pod is created again (docs/architecture.md).
    old_volume = {"name": names.CONFIG_VOLUME, "configMap": {"name": "meshgate-mesh"}}
    _, big = _mesh_objects("v2", PART_BYTES)
    path = _project(old_volume, big, tmp_path)
    with pytest.raises(ConfigPartsError, match="mounts the index alone: re-create its Pod"):
        read_config(str(path))
