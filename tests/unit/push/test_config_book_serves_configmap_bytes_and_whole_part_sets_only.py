"""The config book: what a replica serves is exactly what the ConfigMaps hold (the bytes a proxy
reads from its mounted file), and a config in parts only once every part of its version is there."""

from __future__ import annotations

import base64
import json
from typing import Any

from meshgate.push.book import ConfigBook
from meshproxy import configparts
from meshproxy.delivery.target import Target

GW = Target("gateway", "shop", "edge")


def _cm(
    name: str,
    ns: str,
    version: str,
    data: dict[str, str] | None = None,
    binary: dict[str, bytes] | None = None,
    gateway: str | None = None,
) -> dict[str, Any]:
    labels = {"app.kubernetes.io/managed-by": "meshgate"}
    if gateway:
        labels["meshgate.io/gateway"] = gateway
    body: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": labels,
            "annotations": {"meshgate.io/config-version": version},
        },
        "data": data or {},
    }
    if binary:
        body["binaryData"] = {k: base64.b64encode(v).decode() for k, v in binary.items()}
    return body


def test_inline_configs_are_served_as_stored_and_changes_are_reported() -> None:
    book = ConfigBook()
    text = '{"version":"v1","x":1}'
    assert book.observe("ADDED", _cm("meshgate-gw-edge", "shop", "v1", {"config.json": text},
                                     gateway="edge")) == {GW}  # fmt: skip
    assert book.observe("ADDED", _cm("meshgate-mesh", "shop", "m1", {"config.json": "{}"})) == {
        Target("mesh", "shop")
    }
    entry = book.get(GW)
    assert entry is not None
    assert entry.version == "v1"
    assert entry.body == text.encode()
    # The same version again (a resync's no-op apply) changes nothing.
    same = _cm("meshgate-gw-edge", "shop", "v1", {"config.json": text}, gateway="edge")
    assert book.observe("MODIFIED", same) == set()
    assert book.observe("DELETED", same) == {GW}
    assert book.get(GW) is None


def test_unrelated_configmaps_are_no_targets() -> None:
    book = ConfigBook()
    assert book.observe("ADDED", _cm("meshgate-gw-edge-apikeys", "shop", "v", {"config.json": "{}"},
                                     gateway="edge")) == set()  # fmt: skip
    assert book.versions() == {}


def test_a_config_in_parts_is_served_whole_and_only_once_its_parts_arrived() -> None:
    big = json.dumps({"version": "v2", "routes": ["r" * 64 + str(i) for i in range(20000)]})
    split = configparts.split(big, "v2")
    assert split is not None
    assert len(split.parts) >= 1
    book = ConfigBook()
    old = '{"version":"v1"}'
    book.observe(
        "ADDED", _cm("meshgate-gw-edge", "shop", "v1", {"config.json": old}, gateway="edge")
    )
    # The index arrives before its parts (another order than the operator writes, on purpose).
    index = _cm("meshgate-gw-edge", "shop", "v2", {"config.json": split.index_json}, gateway="edge")
    assert book.observe("MODIFIED", index) == set()
    assert book.get(GW).body == old.encode()  # type: ignore[union-attr]
    changed: set[Target] = set()
    for n, (file, chunk) in enumerate(split.parts):
        part = _cm(
            f"meshgate-gw-edge-config-{n}", "shop", "v2", binary={file: chunk}, gateway="edge"
        )
        changed |= book.observe("ADDED", part)
    assert changed == {GW}
    entry = book.get(GW)
    assert entry is not None
    assert entry.version == "v2"
    assert entry.body == big.encode()


def test_a_listing_replaces_what_a_namespace_held() -> None:
    book = ConfigBook()
    book.observe("ADDED", _cm("meshgate-mesh", "shop", "m1", {"config.json": "{}"}))
    book.observe("ADDED", _cm("meshgate-mesh", "bank", "b1", {"config.json": "{}"}))
    assert book.replace([], "shop") == {Target("mesh", "shop")}
    assert set(book.versions()) == {Target("mesh", "bank")}
    assert book.replace([]) == {Target("mesh", "bank")}
