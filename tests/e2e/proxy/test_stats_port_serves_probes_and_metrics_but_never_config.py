"""A real meshproxy with both ports: the stats port (what the kubelet and Prometheus reach)
answers /live, /ready and /metrics and nothing else; /config is only on the admin port."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

from meshproxy_e2e import config, free_port, start_meshproxy, stop_meshproxy, wait_until


def get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def answers(port: int, path: str) -> bool:
    try:
        return get(port, path)[0] == 200
    except OSError:
        return False


def test_config_is_on_the_admin_port_and_not_on_the_stats_port(tmp_path: Path) -> None:
    cfg_path = tmp_path / "config.json"
    cfg_path.write_text(json.dumps(config(free_port(), [], [])))
    admin, stats = free_port(), free_port()
    with open(tmp_path / "proxy.log", "wb") as log:
        proc = start_meshproxy(
            cfg_path, admin, log, ("--stats-port", str(stats), "--stats-address", "127.0.0.1")
        )
        try:
            wait_until(lambda: answers(stats, "/ready"), 15, "the stats port's /ready")
            assert get(stats, "/live")[0] == 200
            status, metrics = get(stats, "/metrics")
            assert status == 200
            assert "meshproxy_config_info" in metrics
            status, body = get(stats, "/config")
            assert status == 404
            assert "admin port" in body
            status, body = get(admin, "/config")
            assert status == 200
            assert json.loads(body)["schema"] == "meshproxy/v1"
        finally:
            stop_meshproxy(proc)
