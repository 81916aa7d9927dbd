"""The config book serves a namespace's sidecar config stored in parts as one whole config (the
bytes a sidecar reads from its mounted files), only once every part of the index's version is
there: an index beside parts of another version leaves the last whole version current."""

from __future__ import annotations

import json
import random
from typing import Any

from msgspec import json as msgspec_json
from msgspec import structs

from meshgate.compile.result import MeshOutput
from meshgate.push.book import ConfigBook
from meshgate.render import render_mesh
from meshproxy.config import ProxyConfig
from meshproxy.configparts import PART_BYTES, split
from meshproxy.delivery.target import Target

MESH = Target("mesh", "shop")


def _written(version: str, size: int) -> tuple[bytes, list[dict[str, Any]]]:
    """A config of about `size` bytes and the ConfigMaps the operator writes for it, in order."""
    text = json.dumps({"version": version, "noise": random.Random(version).randbytes(size).hex()})
    cfg = msgspec_json.decode(b'{"node":{"role":"sidecar"}}', type=ProxyConfig)
    out = MeshOutput("shop", structs.replace(cfg, version=version), text, split(text, version))
    return text.encode(), render_mesh(out)


def test_parts_then_index_serve_the_whole_config_from_the_index_write_on() -> None:
    book = ConfigBook()
    small, (inline,) = _written("v1", 100)
    assert book.observe("ADDED", inline) == {MESH}
    big, objects = _written("v2", PART_BYTES * 2)
    *parts, index = objects
    assert len(parts) >= 3
    for part in parts:
        # Written first: the index still names v1, which stays current.
        assert book.observe("ADDED", part) == set()
        assert book.get(MESH).body == small  # type: ignore[union-attr]
    assert book.observe("MODIFIED", index) == {MESH}
    entry = book.get(MESH)
    assert entry is not None
    assert (entry.version, entry.body) == ("v2", big)


def test_an_index_whose_parts_hold_another_version_keeps_the_last_whole_one() -> None:
    book = ConfigBook()
    v2, (*v2_parts, v2_index) = _written("v2", PART_BYTES * 2)
    v3, (*v3_parts, v3_index) = _written("v3", PART_BYTES * 2)
    book.replace([*v2_parts, v2_index], "shop")
    assert book.get(MESH).body == v2  # type: ignore[union-attr]
    # The v3 index arrives while the part ConfigMaps still hold v2: nothing of v3 is served,
    # and no mix of the two.
    assert book.observe("MODIFIED", v3_index) == set()
    assert book.get(MESH).body == v2  # type: ignore[union-attr]
    for part in v3_parts[:-1]:
        assert book.observe("MODIFIED", part) == set()
        assert book.get(MESH).body == v2  # type: ignore[union-attr]
    assert book.observe("MODIFIED", v3_parts[-1]) == {MESH}
    assert book.get(MESH).body == v3  # type: ignore[union-attr]


def test_a_config_shrinking_back_inline_drops_its_parts_without_a_change() -> None:
    book = ConfigBook()
    _, (*parts, index) = _written("v2", PART_BYTES * 2)
    book.replace([*parts, index], "shop")
    small, (inline,) = _written("v3", 100)
    assert book.observe("MODIFIED", inline) == {MESH}
    # The operator deletes the parts no index names any more: the served config stays.
    for part in parts:
        assert book.observe("DELETED", part) == set()
    assert book.get(MESH).body == small  # type: ignore[union-attr]
