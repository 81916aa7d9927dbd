"""`meshgate inject` and `uninject` over a multi-document manifest: pod templates, nothing else."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshgate.inject import cli, names

from .golden import GOLDEN_DIR, check

MANIFEST = GOLDEN_DIR / "manifests" / "shop.yaml"
FIXED = ["--injected-version", "0.0.0-test"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def template(doc: dict[str, Any]) -> dict[str, Any]:
    if doc["kind"] == "Pod":
        return doc
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]  # type: ignore[no-any-return]
    return doc["spec"]["template"]  # type: ignore[no-any-return]


def proxies(doc: dict[str, Any]) -> list[str]:
    spec = template(doc)["spec"]
    every = spec.get("initContainers", []) + spec["containers"]
    return [c["name"] for c in every if c["name"] == names.PROXY_CONTAINER]


def test_inject_output_matches_golden_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["inject", "-f", str(MANIFEST), *FIXED], capsys)
    assert code == 0
    check("manifests-shop.injected", list(yaml.safe_load_all(out)))


def test_every_workload_kind_gets_the_sidecar_and_others_are_unchanged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, err = run(["inject", "-f", str(MANIFEST), *FIXED], capsys)
    original = {d["kind"]: d for d in yaml.safe_load_all(MANIFEST.read_text())}
    injected = {d["kind"]: d for d in yaml.safe_load_all(out)}
    for kind in ("Deployment", "StatefulSet", "Job", "CronJob", "Pod"):
        assert proxies(injected[kind]) == [names.PROXY_CONTAINER], kind
    assert injected["Service"] == original["Service"]
    # hostNetwork and an explicit opt-out stay as they were, and the user hears why.
    assert injected["DaemonSet"] == original["DaemonSet"]
    assert injected["ReplicaSet"] == original["ReplicaSet"]
    assert "DaemonSet/node-agent: meshgate: Pod uses hostNetwork" in err


def test_uninject_round_trips_to_the_original(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, out, _ = run(["inject", "-f", str(MANIFEST)], capsys)
    injected = tmp_path / "injected.yaml"
    injected.write_text(out)
    code, restored, _ = run(["uninject", "-f", str(injected)], capsys)
    assert code == 0
    assert list(yaml.safe_load_all(restored)) == list(yaml.safe_load_all(MANIFEST.read_text()))


def test_stdin_is_read_with_dash(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(MANIFEST.read_text()))
    code, out, _ = run(["inject", "-f", "-"], capsys)
    assert code == 0
    assert len([d for d in yaml.safe_load_all(out) if proxies_or_none(d)]) == 5


def proxies_or_none(doc: dict[str, Any]) -> list[str]:
    return proxies(doc) if doc["kind"] != "Service" else []


def test_old_cluster_version_gets_a_plain_container(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["inject", "-f", str(MANIFEST), "--kube-version", "1.28"], capsys)
    deployment = next(d for d in yaml.safe_load_all(out) if d["kind"] == "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    assert "initContainers" not in spec
    assert spec["containers"][-1]["name"] == names.PROXY_CONTAINER


def test_unreadable_input_is_exit_code_1_with_a_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(["inject", "-f", str(tmp_path / "missing.yaml")], capsys)
    assert (code, out) == (1, "")
    assert "missing.yaml" in err
