"""`helm lint --strict` passes on the chart as committed and with every optional part on."""

from __future__ import annotations

from pathlib import Path

import pytest
from chartkit import REPO, run


@pytest.mark.parametrize(
    "values",
    [
        [],
        [
            "metrics.serviceMonitor.enabled=true,metrics.podMonitor.enabled=true",
            "metrics.operatorServiceMonitor.enabled=true,configServer.clusterIP=198.19.250.12",
            "metrics.dashboard.enabled=true,gatewayAPI.enabled=true,gatewayAPI.installCRDs=true",
            "operator.watchNamespaces={team-a,team-b},crds.enabled=false",
        ],
    ],
    ids=["defaults", "everything-on"],
)
def test_helm_lint_is_clean(helm: str, chart_dir: Path, values: list[str]) -> None:
    sets = [arg for v in values for arg in ("--set", v)]
    out = run([helm, "lint", "--strict", str(REPO / "charts" / "meshgate"), *sets])
    assert "0 chart(s) failed" in out
    run([helm, "lint", "--strict", str(chart_dir), *sets])


def test_schema_rejects_an_unknown_value(helm: str, chart_dir: Path) -> None:
    import subprocess

    result = subprocess.run(
        [
            helm,
            "template",
            "m",
            str(chart_dir),
            "--kube-version",
            "v1.34.0",
            "--set",
            "operator.replica=2",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "replica" in result.stderr
