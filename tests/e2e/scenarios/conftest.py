"""Fixtures of the whole-story scenarios: a user with kubectl in a fresh namespace.

``user`` (function)
    A ``scenario_kit.User`` in the test's own namespace, on the cluster where the session's
    ``meshgate_release`` (helm install of the chart) runs; its failed waits report Pod states and
    container logs from the node agent.
"""

from __future__ import annotations

import pytest
from harness.session import NodeAgent
from helm_release import Release
from scenario_kit import User


@pytest.fixture
def user(meshgate_release: Release, namespace: str, node_agent: NodeAgent) -> User:
    return User(meshgate_release, namespace, node_agent.state_dir)
