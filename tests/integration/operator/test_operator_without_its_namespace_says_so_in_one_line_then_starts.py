"""A newcomer's first run: `meshgate operator` against a real API server where its namespace does
not exist yet. Each retry is one JSON log line naming the namespace and the command that fixes
it, never a traceback; once the namespace is created the operator starts without a restart.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from pathlib import Path

from kubernetes.client import ApiClient
from operator_harness import ApiError, OperatorProcess, call, ensure_namespace, eventually


def _lines(op: OperatorProcess) -> list[dict[str, object]]:
    text = op.log_path.read_text(errors="replace") if op.log_path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_missing_namespace_is_one_line_per_retry_and_start_follows_its_creation(
    operator_crds: None, api_client: ApiClient, kubeconfig: str, namespace: str, tmp_path: Path
) -> None:
    missing = f"meshgate-absent-{secrets.token_hex(3)}"
    op = OperatorProcess(
        kubeconfig, namespace, tmp_path / "operator.log", MESHGATE_OPERATOR_NAMESPACE=missing
    )
    op.start()
    try:

        def said_twice() -> list[dict[str, object]] | None:
            assert op.proc is not None
            assert op.proc.poll() is None, f"the operator exited:\n{op.log_tail()}"
            said = [line for line in _lines(op) if "does not exist" in str(line["message"])]
            return said if len(said) >= 2 else None

        said = eventually(said_twice, timeout=30, what="two retries reported")
        assert said[0]["message"] == said[1]["message"]
        message = str(said[0]["message"])
        assert f"namespace '{missing}' does not exist" in message
        assert f"kubectl create namespace {missing}" in message
        assert said[0]["severity"] == "error"
        assert "timestamp" in said[0]
        log = op.log_path.read_text()
        assert "Traceback" not in log
        # Every line is one JSON object (the parse above) and these are the only ones so far.
        assert all("does not exist" in str(line["message"]) for line in _lines(op))

        ensure_namespace(api_client, missing)

        def started() -> bool:
            return any("meshgate operator started" in str(x["message"]) for x in _lines(op))

        eventually(started, timeout=60, what="the operator to start once the namespace exists")
        assert "Traceback" not in op.log_path.read_text()
    finally:
        op.stop()
        with contextlib.suppress(ApiError):
            call(api_client, "DELETE", f"/api/v1/namespaces/{missing}")
