"""End-to-end fixtures: the local node agent on top of the session's control plane.

``kubectl`` (session)
    The path of the kubectl beside the control plane's binaries.
``apply_manifest`` (function)
    ``apply(path, namespace)`` creates every object of a YAML file, as ``kubectl create -f``.
``node_agent`` (session)
    The agent (``python -m harness``) running as a subprocess against ``kubeconfig``: one Node,
    ``meshgate-local-node``, whose Pods run as local processes on addresses of the agent's /24
    (see ``harness/podnet.py``). Stopped by its PID at the end of the session; it stops every
    container process it started before it exits.
``meshgate_release`` (session)
    meshgate installed by ``helm install meshgate charts/meshgate -n meshgate-system
    --create-namespace -f charts/meshgate/ci/local-runner-values.yaml`` (plus the kubeconfig the
    local operator reads), once the operator's Pods are Running and Ready on the agent's Node.
    ``helm uninstall`` at the end of the session.

Every test collected under this directory gets the ``e2e`` marker.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from meshgate.localcluster.waiting import WaitTimeout, wait_for

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

HERE = Path(__file__).resolve().parent
# The harness imports as a top-level package; tests import its helpers the same way.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from harness.session import NodeAgent, running_agent  # noqa: E402  needs the path above
from helm_release import Release  # noqa: E402  needs the path above

REPO = HERE.parents[1]
# Installing the chart: CRDs Established, the operator Pod started and Ready.
RELEASE_READY_TIMEOUT = 120.0


def _tool(name: str) -> Path:
    """A binary beside the control plane's ($MESHGATE_TESTBINS, or what make testbins wrote)."""
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
def node_agent(kubeconfig: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeAgent]:
    with running_agent(kubeconfig, tmp_path_factory.mktemp("node-agent")) as agent:
        yield agent


@pytest.fixture(scope="session")
def kubectl() -> Path:
    """The kubectl beside the control plane's binaries."""
    return _tool("kubectl")


@pytest.fixture
def apply_manifest(api_client: ApiClient) -> Callable[[Path, str], list[Any]]:
    """Create every object of a YAML file in a namespace, as `kubectl create -f` would."""
    from kubernetes import utils

    def apply(path: Path, namespace: str) -> list[Any]:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        created: list[Any] = utils.create_from_yaml(  # type: ignore[no-untyped-call]
            api_client, yaml_objects=docs, namespace=namespace
        )
        return created

    return apply


@pytest.fixture(scope="session")
def meshgate_release(node_agent: NodeAgent, kubeconfig: str) -> Iterator[Release]:
    """The chart installed with helm, its operator running as a local process and Ready."""
    release = Release(helm=_tool("helm"), kubectl=_tool("kubectl"), kubeconfig=kubeconfig)
    release.install()
    try:
        try:
            wait_for(
                release.ready_operator_pods,
                timeout=RELEASE_READY_TIMEOUT,
                what="the meshgate operator Pods installed by helm to be Running and Ready",
            )
        except WaitTimeout as exc:
            raise RuntimeError(f"{exc}\n{_operator_logs(node_agent, release)}") from exc
        _wait_until_pods_are_injected(release, node_agent)
        yield release
    finally:
        release.uninstall()


def _wait_until_pods_are_injected(release: Release, agent: NodeAgent) -> None:
    """Scenarios create a labelled namespace and its Deployments in one apply: every Pod must
    already meet the webhook."""
    try:
        release.wait_until_injecting(RELEASE_READY_TIMEOUT)
    except WaitTimeout as exc:
        raise RuntimeError(f"{exc}\n{_operator_logs(agent, release)}") from exc


def _operator_logs(agent: NodeAgent, release: Release) -> str:
    """The tail of every operator container's log, for a failed install's message."""
    tails = []
    for log in sorted(agent.state_dir.glob(f"pods/{release.namespace}_*/logs/*.log")):
        tails.append(f"--- {log.parent.parent.name}/{log.name}\n{log.read_text()[-2000:]}")
    return "\n".join(tails) or "(no operator container ever started)"
