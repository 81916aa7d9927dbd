"""A Gateway listener's `connectionLimits` become its proxy listener's, in the proxy's units;
a listener without them leaves the proxy's defaults (and its config JSON) alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from meshgate.cli import manifests
from meshgate.cli.offline import snapshot_of
from meshgate.compile import MeshSettings, compile_snapshot
from meshproxy import config
from meshproxy.limits.settings import resolve

GATEWAY = """
apiVersion: meshgate.io/v1alpha1
kind: Gateway
metadata: {name: edge, namespace: shop}
spec:
  listeners:
    - name: web
      port: 8080
      protocol: HTTP
      connectionLimits:
        headerTimeout: 2s
        bodyTimeout: 1500ms
        requestTimeout: 1m
        sendTimeout: 5s
        maxConnections: 20000
        maxConnectionsPerClient: 0
        maxPendingRequests: 64
    - name: plain
      port: 9090
      protocol: HTTP
"""


def compiled(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "gw.yaml").write_text(GATEWAY)
    docs = manifests.read([str(tmp_path)], "shop")
    (gateway,) = compile_snapshot(snapshot_of(docs, MeshSettings())).gateways
    result: dict[str, Any] = json.loads(gateway.config_json)
    return result


def test_set_limits_reach_the_proxy_in_seconds_and_counts(tmp_path: Path) -> None:
    cfg = compiled(tmp_path)
    web = next(ln for ln in cfg["listeners"] if ln["port"] == 8080)
    assert web["connectionLimits"]["headerTimeout"] == 2.0
    assert web["connectionLimits"]["bodyTimeout"] == 1.5
    parsed = config.parse_config(json.dumps(cfg))
    got = resolve(parsed.listeners[0], parsed.limits)
    assert (got.header_timeout, got.body_timeout, got.request_timeout) == (2.0, 1.5, 60.0)
    assert got.send_timeout == 5.0
    assert got.idle_timeout == parsed.limits.idle_timeout  # unset: the proxy-wide value
    assert (got.max_connections, got.max_connections_per_client) == (20000, 0)
    assert got.max_pending_requests == 64


def test_a_listener_without_limits_keeps_the_proxy_defaults(tmp_path: Path) -> None:
    cfg = compiled(tmp_path)
    plain = next(ln for ln in cfg["listeners"] if ln["port"] == 9090)
    assert "connectionLimits" not in plain
