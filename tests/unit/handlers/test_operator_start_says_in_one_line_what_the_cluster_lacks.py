"""`meshgate operator` against a cluster that is not ready for it: one line per retry saying what
is missing and what to do, never a traceback; start-up goes on once it is fixed."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from meshgate.handlers import preflight
from meshgate.kube.rest import KubeError
from meshgate.settings import Settings


class _Cluster:
    """Answers GET namespace from a script: None (404), a body, or an exception to raise."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.server = "https://k:6443"

    def read(self, kind: Any, namespace: str, name: str) -> Any:
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def _run(
    cluster: _Cluster, caplog: pytest.LogCaptureFixture
) -> tuple[bool, list[str], list[float]]:
    waits: list[float] = []
    with caplog.at_level(logging.INFO, logger="meshgate.preflight"):
        rest = preflight.wait_for_cluster(
            Settings(operator_namespace="mesh-ops"),
            lambda: cluster,  # type: ignore[arg-type, return-value]
            waits.append,
        )
    ok = rest is cluster  # the client the operator goes on with
    return ok, [r.getMessage() for r in caplog.records], waits


def test_missing_namespace_is_one_line_per_retry_until_it_exists(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ok, lines, waits = _run(_Cluster(None, None, None, {"metadata": {}}), caplog)
    assert ok
    assert len(lines) == 3
    assert all(line == lines[0] for line in lines)
    assert "namespace 'mesh-ops' does not exist" in lines[0]
    assert "kubectl create namespace mesh-ops" in lines[0]
    assert "MESHGATE_OPERATOR_NAMESPACE" in lines[0]
    assert "\n" not in lines[0]
    assert waits == [2.0, 4.0, 8.0]
    assert not any(r.exc_info for r in caplog.records)


def test_unreachable_api_server_names_it_and_the_cause(caplog: pytest.LogCaptureFixture) -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    wrapped = OSError("Max retries exceeded")
    wrapped.__cause__ = refused
    ok, lines, _ = _run(_Cluster(wrapped, {"metadata": {}}), caplog)
    assert ok
    (line,) = lines
    assert line.startswith("cannot reach the Kubernetes API server at https://k:6443")
    assert "Connection refused" in line


def test_forbidden_is_left_to_the_handlers(caplog: pytest.LogCaptureFixture) -> None:
    ok, lines, _ = _run(_Cluster(KubeError(403, "Forbidden", "GET /api/v1/namespaces/x")), caplog)
    assert (ok, lines) == (True, [])


def test_no_credentials_stops_with_one_line(caplog: pytest.LogCaptureFixture) -> None:
    def no_config() -> Any:
        raise RuntimeError("Invalid kube-config file. No configuration found.")

    with caplog.at_level(logging.INFO, logger="meshgate.preflight"):
        assert preflight.wait_for_cluster(Settings(), no_config, lambda _: None) is None
    (record,) = caplog.records
    assert "set KUBECONFIG" in record.getMessage()
    assert "No configuration found" in record.getMessage()
