"""Fixtures for the CLI's integration tests: meshgate's CRDs installed, and the CLI run in-process
against the test control plane's kubeconfig."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "operator"))
from kube_objects import RunCli
from operator_harness import install_crds

from meshgate import cli


@pytest.fixture(scope="session")
def cli_crds(api_client: ApiClient) -> None:
    install_crds(api_client)


@pytest.fixture
def run_cli(kubeconfig: str, capsys: pytest.CaptureFixture[str]) -> RunCli:
    """`run_cli("check", ...)`: the exit code and the parsed `-o json` output."""

    class Run:
        err = ""

        def __call__(self, *args: str) -> tuple[int, Any]:
            capsys.readouterr()
            code = cli.main([*args, "--kubeconfig", kubeconfig, "-o", "json"])
            captured = capsys.readouterr()
            self.err = captured.err
            return code, json.loads(captured.out) if captured.out.strip() else None

    return Run()
