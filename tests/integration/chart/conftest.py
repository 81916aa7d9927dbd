"""Chart fixtures: `helm` from the pinned binaries and a copy of the chart with its CRD files.

The chart templates its CRDs from `files/crds/`, which `make crds` writes beside `crds/`;
`chart_dir` is a temporary copy so a test can never leave files in the repo's chart.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from chartkit import REPO


@pytest.fixture(scope="session")
def helm(kube_cluster: object) -> str:
    from meshgate.localcluster.errors import MissingTestBinsError
    from meshgate.localcluster.testbins import bin_dir_from_env

    try:
        path = bin_dir_from_env() / "helm"
    except MissingTestBinsError:
        # The cluster was started from the pinned binaries; helm sits beside them.
        path = Path(str(getattr(kube_cluster, "bin_dir", None) or "")) / "helm"
    if not path.is_file():
        pytest.skip(f"no helm binary at {path}")
    return str(path)


@pytest.fixture(scope="session")
def chart_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chart = tmp_path_factory.mktemp("chart") / "meshgate"
    shutil.copytree(REPO / "charts" / "meshgate", chart)
    assert any((chart / "files" / "crds").glob("*.yaml")), "no CRDs in the chart: run make crds"
    return chart
