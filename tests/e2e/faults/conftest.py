"""Fixtures of the control-plane fault tests.

``stage`` (function)
    A `Stage`: the test's namespace with the manifests of `stage/` applied by kubectl (one echo
    backend, the Gateway `steady`, the Route `stable`), its Pods Ready and the gateway serving
    `/stable`; the chart-installed operator of the session (``meshgate_release``) compiles it.
    Afterwards the operator is waited for until it is Ready again, whatever the test did to it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.session import NodeAgent
from helm_release import Release

from meshgate.localcluster.waiting import wait_for

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
# The user's kubectl helpers and the HTTP client are the scenarios' own.
if str(SCENARIOS) not in sys.path:
    sys.path.insert(0, str(SCENARIOS))

from fault_kit import PORT, STAGE, Stage  # noqa: E402  needs the path above
from scenario_kit import User, request  # noqa: E402  needs the path above


@pytest.fixture
def stage(meshgate_release: Release, namespace: str, node_agent: NodeAgent) -> Iterator[Stage]:
    user = User(meshgate_release, namespace, node_agent.state_dir)
    user.apply(STAGE)
    user.ready_pods("app=orders", 1)
    address = user.gateway_pods("steady")[0]["status"]["podIP"]
    user.answer_within(
        lambda: request(address, PORT, "/stable/ping"), 200, 30, "the gateway serving /stable"
    )
    try:
        yield Stage(user, meshgate_release, node_agent, address)
    finally:
        wait_for(meshgate_release.ready_operator_pods, timeout=120, what="the operator Ready")
