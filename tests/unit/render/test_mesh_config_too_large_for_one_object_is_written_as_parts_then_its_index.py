"""A meshed namespace's sidecar config over 512 KiB is stored as gzip parts in
`meshgate-mesh-config-<n>`, written before the index in `meshgate-mesh` that names them; every
object stays far under the API server's 1 MiB; a small config stays one inline ConfigMap."""

from __future__ import annotations

import base64
import json
import random
from dataclasses import replace
from typing import Any

import pytest
from golden_cases import snapshot
from golden_files import GOLDEN_ROOT, check
from mesh_namespace import meshed_namespace

from meshgate.compile import Compiler, compile_snapshot
from meshgate.render import render_mesh
from meshproxy import configparts
from meshproxy.configparts import PART_BYTES, read_config, split

# The API server refuses a stored object over 1 MiB (etcd's request limit is a little above).
OBJECT_LIMIT = 1024 * 1024
GOLDEN = GOLDEN_ROOT / "render"


def _stored_size(obj: dict[str, Any]) -> int:
    return len(json.dumps(obj, separators=(",", ":")).encode())


def _normalised(objects: list[dict[str, Any]], version: str) -> list[dict[str, Any]]:
    """The objects with the volatile bytes named instead of shown: the version, the digest and
    the gzip data change with every compiler change; their names, order and shape must not."""
    text = json.dumps(objects).replace(version, "<version>")
    out: list[dict[str, Any]] = json.loads(text)
    for obj in out:
        obj["binaryData"] = {k: "<gzip bytes, base64>" for k in obj.get("binaryData", {})}
        if not obj["binaryData"]:
            del obj["binaryData"]
        if configparts.is_index(obj["data"].get("config.json", "").encode()):
            index = json.loads(obj["data"]["config.json"])
            index["sha256"] = "<sha256 of the gzip stream>"
            obj["data"]["config.json"] = index
    return out


def test_a_namespace_of_500_services_is_written_as_a_part_then_the_index_golden() -> None:
    (mesh,) = compile_snapshot(snapshot(meshed_namespace(500))).meshes
    assert len(mesh.config_json) > configparts.INLINE_BYTES
    assert mesh.config_parts is not None
    objects = render_mesh(mesh)
    assert [o["metadata"]["name"] for o in objects] == ["meshgate-mesh-config-0", "meshgate-mesh"]
    assert all(_stored_size(o) < OBJECT_LIMIT // 4 for o in objects)
    check(GOLDEN / "mesh-500-services-in-parts.yaml", _normalised(objects, mesh.version),
          "rendered mesh ConfigMaps differ")  # fmt: skip


def test_the_parts_and_index_read_back_as_the_compiled_config() -> None:
    (mesh,) = compile_snapshot(snapshot(meshed_namespace(500))).meshes
    *parts, index = render_mesh(mesh)
    files = {k: base64.b64decode(v) for p in parts for k, v in p["binaryData"].items()}
    assembled = configparts.assemble(index["data"]["config.json"].encode(), files.__getitem__)
    assert assembled == mesh.config_json.encode()


def test_a_small_namespace_stays_one_inline_configmap_as_before() -> None:
    (mesh,) = compile_snapshot(snapshot(meshed_namespace(3))).meshes
    assert mesh.config_parts is None
    (cm,) = render_mesh(mesh)
    assert cm["metadata"]["name"] == "meshgate-mesh"
    assert cm["data"] == {"config.json": mesh.config_json}
    assert "binaryData" not in cm


def test_a_config_of_several_parts_writes_every_part_first_each_under_the_limit(
    tmp_path: Any,
) -> None:
    (mesh,) = compile_snapshot(snapshot(meshed_namespace(3))).meshes
    rng = random.Random(7)
    # Incompressible filler: gzip cannot fold it, so it takes several parts.
    text = json.dumps({"noise": rng.randbytes(PART_BYTES * 2).hex()})
    parts = split(text, mesh.version)
    assert parts is not None
    assert len(parts.parts) >= 3
    objects = render_mesh(replace(mesh, config_json=text, config_parts=parts))
    names = [o["metadata"]["name"] for o in objects]
    assert names == [f"meshgate-mesh-config-{n}" for n in range(len(parts.parts))] + [
        "meshgate-mesh"
    ]
    assert all(_stored_size(o) < OBJECT_LIMIT for o in objects)
    for obj in objects[:-1]:
        for file, data in obj["binaryData"].items():
            (tmp_path / file).write_bytes(base64.b64decode(data))
    (tmp_path / "config.json").write_text(objects[-1]["data"]["config.json"])
    assert read_config(str(tmp_path / "config.json")) == text.encode()


def test_an_unchanged_namespace_keeps_its_parts_and_is_not_compressed_again() -> None:
    compiler = Compiler()
    snap = snapshot(meshed_namespace(500))
    (first,) = compiler.compile(snap).meshes
    (again,) = compiler.compile(snap).meshes
    assert again.config_parts is first.config_parts


def test_a_config_beyond_the_mounted_parts_is_written_inline_and_the_namespace_retained(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A real one needs tens of thousands of Services; the bound is what is under test.
    monkeypatch.setattr(configparts, "MAX_PARTS", 0)
    result = compile_snapshot(snapshot(meshed_namespace(500)))
    (mesh,) = result.meshes
    assert mesh.too_large
    assert mesh.config_parts is None
    # The API server refuses it (the reconcile reports that for the namespace), and being
    # retained, the namespace's stored index and parts are not deleted meanwhile.
    (cm,) = render_mesh(mesh)
    assert cm["data"] == {"config.json": mesh.config_json}
    assert "shop" in result.retained
