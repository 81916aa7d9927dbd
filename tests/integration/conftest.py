"""Integration tests: against a real kube-apiserver, etcd and kube-controller-manager.

Every test collected under this directory gets the ``integration`` marker, so
``pytest -m 'not integration'`` leaves them out; the cluster fixtures (``kube_cluster``,
``kubeconfig``, ``api_client``, ``namespace``) live in ``tests/conftest.py``. Nothing here may
mock the API server.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# Helper modules shared by the subtrees (`controller_kit`) import as top-level modules.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items, not only this directory's.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)
