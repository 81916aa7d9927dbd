"""Chart fixtures: `helm` from the pinned binaries and a copy of the chart with its CRD files.

The CRD generator still writes `charts/meshgate/crds/`; the chart templates CRDs from
`files/crds/`. Until the generator writes there, `chart_dir` is a temporary copy with `crds/*.yaml`
copied into `files/crds/` and Helm's own `crds/` folder removed.
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
    shutil.rmtree(chart / "crds", ignore_errors=True)
    files = chart / "files" / "crds"
    if not any(files.glob("*.yaml")):
        files.mkdir(parents=True, exist_ok=True)
        for crd in (REPO / "crds").glob("*.yaml"):
            shutil.copy(crd, files / crd.name)
    return chart
