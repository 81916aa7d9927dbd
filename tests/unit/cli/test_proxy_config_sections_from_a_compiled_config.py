"""`proxy-config` sections, read from a config the compiler produced for the quickstart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from meshgate.cli import configview, manifests, offline
from meshgate.compile import MeshSettings, compile_snapshot

QUICKSTART = Path(__file__).resolve().parents[3] / "examples" / "quickstart"


def gateway_config() -> dict[str, Any]:
    docs = manifests.read([str(QUICKSTART)], "quickstart")
    result = compile_snapshot(offline.snapshot_of(docs, MeshSettings()))
    config: dict[str, Any] = json.loads(result.gateways[0].config_json)
    return config


def test_listeners_and_routes_show_where_traffic_goes() -> None:
    cfg = gateway_config()
    listeners = configview.rows(cfg, "listeners")
    assert [(r["name"], r["port"], r["role"]) for r in listeners] == [("http", 8080, "edge")]
    routes = configview.rows(cfg, "routes")
    assert len(routes) == 1
    assert routes[0]["source"] == "quickstart/quickstart-echo"
    assert routes[0]["match"] == "* /"
    assert routes[0]["action"].startswith("→ ")


def test_secrets_name_files_never_values() -> None:
    cfg = gateway_config()
    cfg["authn"] = [
        {"name": "keys", "apiKey": {"keys": [{"consumer": "a", "sha256": "<redacted>"}]}}
    ]
    rows = configview.rows(cfg, "secrets")
    assert {
        "usedBy": "authn keys",
        "kind": "API keys",
        "source": "1 inline digests (redacted)",
    } in rows
    assert all("BEGIN" not in str(r["source"]) for r in rows)
    assert any(r["kind"] == "certificate" for r in rows)


def test_every_section_has_its_columns() -> None:
    cfg = gateway_config()
    for section in configview.SECTIONS:
        keys = {c.key for c in configview.COLUMNS[section]}
        for row in configview.rows(cfg, section):
            assert keys <= set(row), section
