"""Fixtures of the whole-story scenarios: a user with kubectl in a fresh namespace.

``user`` (function)
    A ``scenario_kit.User`` in the test's own namespace, on the cluster where the session's
    ``meshgate_release`` (helm install of the chart) runs; its failed waits report Pod states and
    container logs from the node agent.
``shop`` (function)
    A ``User`` in namespace ``shop``, which the scenario's own manifests create and label for
    injection; deleted afterwards, and waited for.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness.session import NodeAgent
from helm_release import Release
from scenario_kit import User


@pytest.fixture
def user(meshgate_release: Release, namespace: str, node_agent: NodeAgent) -> User:
    return User(meshgate_release, namespace, node_agent.state_dir)


@pytest.fixture
def shop(meshgate_release: Release, node_agent: NodeAgent) -> Iterator[User]:
    """A user whose manifests create and mesh namespace `shop` themselves (their policies name
    it, as real ones do); the namespace is deleted afterwards."""
    user = User(meshgate_release, "shop", node_agent.state_dir)
    try:
        yield user
    finally:
        # Gone before the next scenario starts: its teardown churn must not be timed there.
        meshgate_release.kubectl_run(
            "delete", "namespace", "shop", "--ignore-not-found", "--wait=true", timeout=120
        )
