"""Shared fixtures: a real local control plane and clients of it.

The fixture names below are stable; integration and e2e tests build on them.

``kube_cluster`` (session)
    A running ``meshgate.localcluster.LocalCluster`` (etcd, kube-apiserver, kube-controller-manager
    on 127.0.0.1). Started once per test session in a temporary directory and stopped at the end;
    its processes also die if pytest itself is killed. When ``$KUBECONFIG`` points at the
    kubeconfig of a running ``make up`` cluster (``.local/cluster/admin.kubeconfig``), that cluster
    is reused and left running. No kubelet: Pods are created but stay Pending.
``kubeconfig`` (session)
    Absolute path (str) of the cluster's admin kubeconfig (group ``system:masters``).
``api_client`` (session)
    A ``kubernetes.client.ApiClient`` configured from ``kubeconfig`` (the tests' client; the
    operator never loads that package).
``rest`` (session)
    ``meshgate.kube.rest.Rest``, meshgate's own client, connected with ``kubeconfig``.
``namespace`` (function)
    The name of a fresh namespace whose ``default`` ServiceAccount already exists (so Pods are
    admitted); deleted after the test.

The binaries come from ``$MESHGATE_TESTBINS`` (``make test`` sets it). When it is unset, tests
that need the cluster fail under CI (``CI=true``) and are skipped elsewhere, with the reason;
outside CI, the path ``make testbins`` wrote to ``.local/testbins.path`` is used if present.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from meshgate.kube.rest import Rest, connect
from meshgate.localcluster.cluster import LocalCluster, cluster_for_kubeconfig
from meshgate.localcluster.errors import MissingTestBinsError
from meshgate.localcluster.testbins import ENV as TESTBINS_ENV
from meshgate.localcluster.testbins import bin_dir_from_env, check_bin_dir
from meshgate.localcluster.waiting import wait_for

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

REPO = Path(__file__).resolve().parents[1]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _bin_dir() -> Path:
    """The pinned binaries, or fail (CI) / skip (elsewhere) saying how to get them."""
    try:
        return bin_dir_from_env()
    except MissingTestBinsError as exc:
        reason = str(exc)
    if _in_ci():
        pytest.fail(f"integration tests need the control-plane binaries under CI: {reason}")
    recorded = REPO / ".local" / "testbins.path"
    if not os.environ.get(TESTBINS_ENV) and recorded.is_file():
        try:
            return check_bin_dir(Path(recorded.read_text().strip()))
        except MissingTestBinsError:
            pass
    pytest.skip(f"no local control plane binaries: {reason}")


def _reusable_cluster() -> LocalCluster | None:
    env = os.environ.get("KUBECONFIG", "")
    if not env or os.pathsep in env:
        return None
    cluster = cluster_for_kubeconfig(env)
    return cluster if cluster is not None and cluster.is_running() else None


def _say(config: pytest.Config, line: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    # Output capture is on during fixture setup; the startup time is worth seeing anyway.
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@pytest.fixture(scope="session")
def kube_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalCluster]:
    reused = _reusable_cluster()
    if reused is not None:
        _say(request.config, f"local control plane: reusing {reused.state_dir} ({reused.server})")
        yield reused
        return
    cluster = LocalCluster(
        tmp_path_factory.mktemp("kube-cluster"),
        _bin_dir(),
        # pytest killed mid-run must not leave a control plane behind.
        tie_to_parent=True,
    )
    try:
        timings = cluster.start()
        _say(request.config, f"local control plane: ready in {timings} at {cluster.server}")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def kubeconfig(kube_cluster: LocalCluster) -> str:
    return str(kube_cluster.kubeconfig_path)


@pytest.fixture(scope="session")
def api_client(kubeconfig: str) -> Iterator[ApiClient]:
    from kubernetes import config

    client = config.new_client_from_config(config_file=kubeconfig)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def rest(kubeconfig: str) -> Rest:
    """meshgate's own client, connected as the operator would be with this kubeconfig."""
    return connect(kubeconfig)


def _namespace_name(test_name: str) -> str:
    # Namespace names are DNS labels: lowercase alphanumerics and '-', at most 63 characters.
    stem = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:48].rstrip("-")
    return f"{stem or 'test'}-{secrets.token_hex(3)}"


@pytest.fixture
def namespace(request: pytest.FixtureRequest, api_client: ApiClient) -> Iterator[str]:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core = client.CoreV1Api(api_client)
    name = _namespace_name(request.node.name)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))

    def has_default_sa() -> bool:
        try:
            core.read_namespaced_service_account("default", name)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    try:
        # The ServiceAccount admission plugin refuses Pods until the controller made `default`.
        wait_for(has_default_sa, timeout=30, what=f"ServiceAccount default in namespace {name}")
        yield name
    finally:
        try:
            core.delete_namespace(name)
        except ApiException as exc:
            if exc.status != 404:
                raise
