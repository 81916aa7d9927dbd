"""A Gateway with `spec.catalog` serves the catalog page: an exact GET route, first on each host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from meshgate.cli import manifests
from meshgate.cli.offline import snapshot_of
from meshgate.compile import MeshSettings, compile_snapshot

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "api-catalog"


def gateway_config(drop_catalog: bool = False) -> dict[str, Any]:
    docs = manifests.read([str(EXAMPLE)], "shop")
    if drop_catalog:
        for doc in docs:
            if doc.kind == "Gateway":
                doc.body["spec"].pop("catalog")
    config: dict[str, Any] = json.loads(
        compile_snapshot(snapshot_of(docs, MeshSettings())).gateways[0].config_json
    )
    return config


def test_the_page_is_the_first_route_of_every_virtual_host() -> None:
    for listener in gateway_config()["listeners"]:
        for vhost in listener["virtualHosts"]:
            first = vhost["routes"][0]
            assert first["name"] == "meshgate-catalog"
            assert first["match"]["path"] == {"type": "Exact", "value": "/apis"}
            assert first["match"]["method"] == "GET"
            page = first["directResponse"]
            assert page["status"] == 200
            assert page["headers"]["content-type"] == "text/html; charset=utf-8"
            assert "Orders API" in page["body"]
            assert "meshgate-catalog" not in page["body"]  # the page never lists itself


def test_without_the_opt_in_no_page_is_served() -> None:
    names = [
        r["name"]
        for listener in gateway_config(drop_catalog=True)["listeners"]
        for vhost in listener["virtualHosts"]
        for r in vhost["routes"]
    ]
    assert names
    assert "meshgate-catalog" not in names
