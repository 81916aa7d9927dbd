"""The catalog page as a browser sees it: examples/api-catalog compiled by the operator's
compiler, served by a real meshproxy at the path the Gateway opted into, opened in Debian's
headless Chromium. The test reads the DOM Chromium rendered and takes a screenshot
(`MESHGATE_UPDATE_SCREENSHOT=1` writes it to docs/images/api-catalog.png)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "proxy"))
from meshproxy_e2e import free_port, start_meshproxy, stop_meshproxy, wait_until

from meshgate.cli import manifests
from meshgate.cli.offline import snapshot_of
from meshgate.compile import MeshSettings, compile_snapshot

ROOT = Path(__file__).resolve().parents[3]
HOST = "api.shop.example.com"
SCREENSHOT = ROOT / "docs" / "images" / "api-catalog.png"
# The flags Debian's Chromium needs here: no sandbox as root, and no background connections
# (this machine's network is closed; they would only be refused).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: make sysdeps installs it")
        pytest.skip("chromium is not installed: make sysdeps installs it")
    return found


def gateway_config(port: int) -> dict[str, Any]:
    """The compiled gateway config, its listener moved to `port` (as a Service maps a port)."""
    docs = manifests.read([str(ROOT / "examples" / "api-catalog")], "shop")
    out = compile_snapshot(snapshot_of(docs, MeshSettings())).gateways[0]
    config: dict[str, Any] = json.loads(out.config_json)
    for listener in config["listeners"]:
        listener["address"] = "127.0.0.1"
        listener["port"] = port
        for vhost in listener["virtualHosts"]:
            vhost["domains"] = [HOST, f"{HOST}:{port}"]
    return config


def browse(tmp: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp / 'chromium-profile'}",
            f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


def test_the_served_catalog_lists_every_api_with_its_auth_and_limits(tmp_path: Path) -> None:
    chromium()
    port = free_port()
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(gateway_config(port)))
    with open(tmp_path / "proxy.log", "wb") as log:
        proxy = start_meshproxy(config_path, free_port(), log)
        try:
            url = f"http://{HOST}:{port}/apis"

            def served() -> bool:
                try:
                    return "Orders API" in browse(tmp_path, url, "--dump-dom").stdout
                except subprocess.CalledProcessError:
                    return False

            wait_until(served, 60, "the catalog page in Chromium")
            dom = browse(tmp_path, url, "--dump-dom").stdout
            for listed in (
                "APIs on developer-edge",
                "Orders API",
                "partner-stock",
                "products",
                "issuer https://id.shop.example.com/, audience orders",
                "header x-api-key",
                "per API key consumer",
                "per client IP",
                "/v2/orders/{id}/shipments",
                "Cancel an order not yet shipped",
                f"http://{HOST}:8080",
            ):
                assert listed in dom, listed
            assert dom.count('<article class="api"') == 3

            shot = tmp_path / "catalog.png"
            browse(tmp_path, url, "--window-size=1400,1700", f"--screenshot={shot}")
            assert shot.stat().st_size > 10_000
            if os.environ.get("MESHGATE_UPDATE_SCREENSHOT") == "1":
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shot, SCREENSHOT)
        finally:
            stop_meshproxy(proxy)
