"""A real meshproxy's own log lines: every one a JSON object with a UTC timestamp and a severity,
from start to drain, and `--log-level` (the chart's proxy.logLevel, passed by the operator)
deciding which are written.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from meshproxy_e2e import Backends, Behaviour, cluster, config, forward, running, wait_until


def _own_lines(log: Path) -> list[dict[str, Any]]:
    """Every line the proxy wrote about itself (access lines, also JSON, carry no `logger`)."""
    lines = []
    for raw in log.read_text().splitlines():
        line = json.loads(raw)  # not JSON: fails here, with the line in the message
        assert isinstance(line, dict), raw
        if "logger" in line:
            lines.append(line)
    return lines


def _run(tmp: Path, backends: Backends, port: int, *args: str) -> list[dict[str, Any]]:
    backend_port = backends.start(Behaviour("b"))
    cfg = config(port, [forward("r", "c")], [cluster("c", backend_port)])
    with running(tmp, cfg, args) as proxy:
        # A broken config: refused, logged as an error at every level.
        proxy.config_path.write_text("{not json")
        wait_until(
            lambda: proxy.metric("meshproxy_config_reloads_total", result="failure") >= 1,
            10,
            "the broken config to be refused",
        )
        assert proxy.terminate() == 0
    return _own_lines(tmp / "proxy.log")


def test_every_line_is_json_with_a_utc_timestamp_and_info_is_the_default(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    lines = _run(tmp_path, backends, port)
    for line in lines:
        stamp = datetime.fromisoformat(line["timestamp"])
        assert stamp.utcoffset() == timedelta(0), line
        assert line["severity"] in {"debug", "info", "warn", "error", "fatal"}, line
    messages = [(line["severity"], line["message"]) for line in lines]
    assert any(s == "info" and "applied" in m for s, m in messages), messages
    assert any(s == "error" and "refused" in m for s, m in messages), messages
    # The drain message, once `%(message)r` in a hand-made template, is a plain JSON string.
    assert ("info", "draining") in messages
    assert not any(s == "debug" for s, _ in messages), messages


def test_warning_writes_only_warnings_and_errors(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    lines = _run(tmp_path, backends, port, "--log-level", "warning")
    assert lines, "the refused config must still be logged"
    assert {line["severity"] for line in lines} == {"error"}, lines


def test_debug_also_writes_each_listener_served(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    lines = _run(tmp_path, backends, port, "--log-level", "debug")
    debug = [line["message"] for line in lines if line["severity"] == "debug"]
    assert f"listener web (edge) serves 127.0.0.1:{port}" in debug, debug
