"""`meshgate inject` gives the sidecar the config server the webhook would: the chart's Service in
the operator namespace and the operator's SPIFFE ID, so an offline-injected Pod streams its config
like any other; `--config-server ''` leaves it on its mounted file alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshgate.inject import cli

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"containers": [{"name": "web", "image": "web:1"}]},
}


def _env(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    src = tmp_path / "pod.yaml"
    src.write_text(yaml.safe_dump(POD))
    capsys.readouterr()
    assert cli.main(["inject", "-f", str(src), *args]) == 0
    pod = yaml.safe_load(capsys.readouterr().out)
    sidecar = next(c for c in pod["spec"]["initContainers"] if c["name"] == "meshgate-proxy")
    return {e["name"]: e.get("value") for e in sidecar["env"]}


def test_the_sidecar_streams_from_the_config_server_in_the_operator_namespace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(
        ["--operator-namespace", "mesh-ops", "--trust-domain", "corp.example"], tmp_path, capsys
    )
    assert env["MESHGATE_CONFIG_SERVER"] == "meshgate-config.mesh-ops.svc:15012"
    assert env["MESHGATE_CONFIG_SERVER_ID"] == "spiffe://corp.example/ns/mesh-ops/sa/meshgate"


def test_an_explicit_config_server_wins_and_an_empty_one_leaves_the_file_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(["--config-server", "cfg.example:9000"], tmp_path, capsys)
    assert env["MESHGATE_CONFIG_SERVER"] == "cfg.example:9000"
    env = _env(["--config-server", ""], tmp_path, capsys)
    assert "MESHGATE_CONFIG_SERVER" not in env
    assert "MESHGATE_CONFIG_SERVER_ID" not in env
