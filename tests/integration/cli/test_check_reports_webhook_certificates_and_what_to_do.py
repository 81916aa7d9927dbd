"""`meshgate check` against a running operator: the webhook registered and answering, then
deleted; a CA certificate near its end. Each failure says what to do."""

from __future__ import annotations

import contextlib
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from controller_kit import ApiError, call, eventually
from kube_objects import RunCli, create
from kubernetes.client import ApiClient
from operator_harness import OperatorProcess, free_port

WEBHOOKS = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"


def by_name(data: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in data["checks"]}


def test_check_follows_the_webhook_and_certificate_expiry(
    cli_crds: None,
    api_client: ApiClient,
    kubeconfig: str,
    namespace: str,
    run_cli: RunCli,
    tmp_path: Path,
) -> None:
    call(
        api_client,
        "PATCH",
        f"/api/v1/namespaces/{namespace}",
        body={"metadata": {"labels": {"meshgate.io/inject": "enabled"}}},
        content_type="application/merge-patch+json",
    )
    webhook = f"meshgate-injector-{secrets.token_hex(3)}"
    # A short operator namespace: the webhook's serving certificate is named after it.
    ops = f"meshgate-ops-{secrets.token_hex(3)}"
    call(api_client, "POST", "/api/v1/namespaces", body={"metadata": {"name": ops}})
    op = OperatorProcess(
        kubeconfig,
        f"{namespace},{ops}",
        tmp_path / "operator.log",
        MESHGATE_OPERATOR_NAMESPACE=ops,
        MESHGATE_POD_IP="127.0.0.1",
        MESHGATE_INJECTION_ENABLED="true",
        MESHGATE_WEBHOOK_CONFIG_NAME=webhook,
        MESHGATE_WEBHOOK_PORT=str(free_port()),
        MESHGATE_INJECTION_FAILURE_POLICY="Fail",
    )
    op.start()
    args = ("check", "--operator-namespace", ops, "--webhook-config", webhook)
    try:

        def healthy() -> dict[str, Any] | None:
            _, data = run_cli(*args)
            got = by_name(data)
            ok = got["injection webhook"]["verdict"] == got["webhook answers"]["verdict"] == "ok"
            return data if ok else None

        data = eventually(healthy, timeout=90, what="check to find the webhook answering")
        got = by_name(data)
        assert got["CRD routes.meshgate.io"]["verdict"] == "ok"
        assert got["kubernetes version"]["verdict"] == "ok"
        assert got["mesh CA"]["verdict"] == "ok"
        assert "came back injected" in got["webhook answers"]["message"]

        # A running operator puts a deleted configuration back at once: stop it first, as a
        # crashed or scaled-down operator would leave the cluster.
        op.stop()
        call(api_client, "DELETE", f"{WEBHOOKS}/{webhook}")
        code, data = run_cli(*args)
        got = by_name(data)
        assert code == 1
        assert got["injection webhook"]["verdict"] == "error"
        assert "not found" in got["injection webhook"]["message"]
        assert "restart" in got["injection webhook"]["fix"]
    finally:
        op.stop()
        with contextlib.suppress(ApiError):
            call(api_client, "DELETE", f"{WEBHOOKS}/{webhook}")
        with contextlib.suppress(ApiError):
            call(api_client, "DELETE", f"/api/v1/namespaces/{ops}")
        print(op.log_tail(30))


def test_a_ca_certificate_near_expiry_is_a_warning_with_its_end(
    cli_crds: None, api_client: ApiClient, namespace: str, run_cli: RunCli
) -> None:
    ends = datetime.now(UTC) + timedelta(hours=30)
    create(
        api_client,
        namespace,
        {
            "kind": "Secret",
            "metadata": {
                "name": "meshgate-ca",
                "labels": {
                    "app.kubernetes.io/managed-by": "meshgate",
                    "meshgate.io/component": "ca",
                },
                "annotations": {"meshgate.io/not-after": ends.strftime("%Y-%m-%dT%H:%M:%SZ")},
            },
            "type": "Opaque",
            "data": {},
        },
    )
    code, data = run_cli("check", "--operator-namespace", namespace)
    ours = [
        c
        for c in data["checks"]
        if c["name"] == "mesh CA" and f"{namespace}/meshgate-ca" in c["message"]
    ]
    assert len(ours) == 1
    assert ours[0]["verdict"] == "warning"
    assert "expires in 29h" in ours[0]["message"]  # 30 h less the seconds the test took
    assert ours[0]["fix"]
    assert code == 1  # no operator Deployment in that namespace: an error of its own
