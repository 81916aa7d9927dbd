"""The Gateway API conformance run's fixtures: the node agent with the suite's echo-basic, and
meshgate installed by its chart with the Gateway API on (its standard-channel CRDs too).

``conformance_bins`` (session)
    The echo-basic program and the compiled suite (`make conformance-bins` builds both from the
    Go module in `conformance/`); a clear failure when they are missing.
``conformance_agent`` (session)
    The e2e node agent (`tests/e2e/harness`) playing kubelet (with its kubelet API, for the
    mesh profile's exec) and kube-proxy, mapping the suite's echo-basic image to the built
    program and echo-advanced to our emulation of it.
``gateway_api_release`` (session)
    `helm install` of `charts/meshgate` with `gatewayAPI.enabled=true` and
    `gatewayAPI.installCRDs=true`, once the operator Pod is Running and Ready.

The tree runs inside `hack/in-netns.sh`: Gateways are reached at their Service addresses, which
the agent makes local to that namespace only.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conformance_kit import BIN_DIR, BINS, REPO, ConformanceBins

from meshgate.localcluster.waiting import WaitTimeout, wait_for

HERE = Path(__file__).resolve().parent
E2E = REPO / "tests" / "e2e"
if str(E2E) not in sys.path:
    sys.path.insert(0, str(E2E))

from harness.session import NodeAgent, running_agent  # noqa: E402  needs the path above
from helm_release import Release  # noqa: E402  needs the path above

RELEASE_READY_TIMEOUT = 180.0
GATEWAY_API_SETTINGS = ("gatewayAPI.enabled=true", "gatewayAPI.installCRDs=true")


def _tool(name: str) -> Path:
    value = os.environ.get("MESHGATE_TESTBINS", "").strip()
    recorded = REPO / ".local" / "testbins.path"
    if not value and recorded.is_file():
        value = recorded.read_text().strip()
    path = Path(value) / name
    if not value or not os.access(path, os.X_OK):
        pytest.fail(f"{name} not found beside the test binaries ({value!r}): run `make testbins`")
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def conformance_bins() -> ConformanceBins:
    for path in (BINS.echo_basic, BINS.suite, BINS.echo_advanced):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} is not built: run `make conformance-bins` (needs Go)")
    return BINS


@pytest.fixture(scope="session")
def conformance_agent(kubeconfig: str, conformance_bins: ConformanceBins) -> Iterator[NodeAgent]:
    # Kept after the run for the post-mortem (every Pod's logs), unlike pytest's rotated tmp dirs.
    state_dir = BIN_DIR / "node-agent"
    shutil.rmtree(state_dir, ignore_errors=True)
    state_dir.mkdir(parents=True)
    bins = conformance_bins
    args = ["--echo-basic", str(bins.echo_basic), "--echo-advanced", str(bins.echo_advanced)]
    with running_agent(kubeconfig, state_dir, args) as agent:
        yield agent


@pytest.fixture(scope="session")
def gateway_api_release(conformance_agent: NodeAgent, kubeconfig: str) -> Iterator[Release]:
    release = Release(
        helm=_tool("helm"),
        kubectl=_tool("kubectl"),
        kubeconfig=kubeconfig,
        settings=GATEWAY_API_SETTINGS,
    )
    release.install()
    try:
        try:
            wait_for(
                release.ready_operator_pods,
                timeout=RELEASE_READY_TIMEOUT,
                what="the meshgate operator Pods installed by helm to be Running and Ready",
            )
            # The mesh profile creates its labelled namespaces and Deployments in one apply.
            release.wait_until_injecting(RELEASE_READY_TIMEOUT)
        except WaitTimeout as exc:
            logs = sorted(conformance_agent.state_dir.glob(f"pods/{release.namespace}_*/logs/*"))
            tails = "\n".join(f"--- {p}\n{p.read_text()[-2000:]}" for p in logs)
            raise RuntimeError(f"{exc}\n{tails}") from exc
        yield release
    finally:
        release.uninstall()
