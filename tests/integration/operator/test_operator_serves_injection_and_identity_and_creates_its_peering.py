"""`meshgate operator` runs every controller: one process serves the injection webhook, issues
mesh identities, reconciles config, and creates the kopf peering object it coordinates through.

The operator runs as a subprocess with `MESHGATE_POD_IP` set, as the local runner starts it: its
servers bind that address and the webhook configuration calls it there by URL.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient
from operator_harness import REPO, ApiError, OperatorProcess, call, eventually, free_port

PEERING_CRDS = REPO / "charts" / "meshgate" / "files" / "kopf" / "peering-crds.yaml"
WEBHOOKS = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"


def _get(api: ApiClient, path: str) -> dict[str, Any] | None:
    try:
        return call(api, "GET", path)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def _install_peering_crds(api: ApiClient) -> None:
    for crd in yaml.safe_load_all(PEERING_CRDS.read_text()):
        if not crd:
            continue
        call(
            api,
            "PATCH",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}",
            body=crd,
            query=[("fieldManager", "meshgate-tests"), ("force", "true")],
            content_type="application/apply-patch+yaml",
        )

        def established(name: str = crd["metadata"]["name"]) -> bool:
            got = call(
                api, "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
            )
            conds = (got.get("status") or {}).get("conditions") or []
            return any(c["type"] == "Established" and c["status"] == "True" for c in conds)

        eventually(established, timeout=30, what=f"CRD {crd['metadata']['name']} established")


@pytest.fixture
def ops_namespace(api_client: ApiClient) -> Iterator[str]:
    name = f"meshgate-ops-{secrets.token_hex(3)}"
    call(api_client, "POST", "/api/v1/namespaces", body={"metadata": {"name": name}})
    try:
        yield name
    finally:
        with contextlib.suppress(ApiError):
            call(api_client, "DELETE", f"/api/v1/namespaces/{name}")


def test_one_operator_process_injects_pods_issues_identities_and_peers(
    operator_crds: None,
    api_client: ApiClient,
    kubeconfig: str,
    namespace: str,
    ops_namespace: str,
    tmp_path: Path,
) -> None:
    _install_peering_crds(api_client)
    call(
        api_client,
        "PATCH",
        f"/api/v1/namespaces/{namespace}",
        body={"metadata": {"labels": {"meshgate.io/inject": "enabled"}}},
        content_type="application/merge-patch+json",
    )
    webhook_name = f"meshgate-injector-{secrets.token_hex(3)}"
    webhook_port = free_port()
    # Stands in for the chart's ClusterRole: the owner of what the operator creates cluster-wide.
    owner = call(
        api_client,
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        body={"metadata": {"name": f"{webhook_name}-cluster"}, "rules": []},
    )
    op = OperatorProcess(
        kubeconfig,
        f"{namespace},{ops_namespace}",
        tmp_path / "operator.log",
        MESHGATE_OPERATOR_NAMESPACE=ops_namespace,
        MESHGATE_POD_IP="127.0.0.1",
        MESHGATE_INJECTION_ENABLED="true",
        MESHGATE_WEBHOOK_CONFIG_NAME=webhook_name,
        MESHGATE_WEBHOOK_PORT=str(webhook_port),
        MESHGATE_INJECTION_FAILURE_POLICY="Fail",
        MESHGATE_PEERING="true",
        MESHGATE_PEERING_NAME="meshgate-test",
        MESHGATE_OWNER_CLUSTER_ROLE=owner["metadata"]["name"],
    )
    op.start()
    try:
        # The webhook configuration appears and points at the Pod address by URL.
        def webhook_configuration() -> dict[str, Any] | None:
            assert op.proc is not None
            assert op.proc.poll() is None, "the operator exited"
            return _get(api_client, f"{WEBHOOKS}/{webhook_name}")

        hook = eventually(
            webhook_configuration,
            timeout=60,
            what="the MutatingWebhookConfiguration",
        )
        # Owned by the ClusterRole: `helm uninstall` deleting it has the configuration deleted.
        assert [(o["kind"], o["name"], o["uid"]) for o in hook["metadata"]["ownerReferences"]] == [
            ("ClusterRole", owner["metadata"]["name"], owner["metadata"]["uid"])
        ]
        urls = sorted(w["clientConfig"].get("url", "") for w in hook["webhooks"])
        assert urls == [
            f"https://127.0.0.1:{webhook_port}/inject-namespace",
            f"https://127.0.0.1:{webhook_port}/inject-pod",
        ]

        # The peering object exists in each watched namespace (kopf's namespaced peering).
        for ns in (namespace, ops_namespace):
            peering = eventually(
                lambda ns=ns: _get(
                    api_client, f"/apis/kopf.dev/v1/namespaces/{ns}/kopfpeerings/meshgate-test"
                ),
                timeout=30,
                what=f"KopfPeering in {ns}",
            )
            assert peering["metadata"]["name"] == "meshgate-test"
            assert peering["metadata"]["ownerReferences"][0]["uid"] == owner["metadata"]["uid"]

        # A meshed namespace's ServiceAccount gets its identity Secret from the same process.
        secret = eventually(
            lambda: _get(
                api_client, f"/api/v1/namespaces/{namespace}/secrets/meshgate-identity-default"
            ),
            timeout=60,
            what="the identity Secret of ServiceAccount default",
        )
        assert {"tls.crt", "tls.key", "ca.crt"} <= set(secret["data"])

        # A Pod created in the labelled namespace is injected by that process.
        def create_pod() -> dict[str, Any] | None:
            try:
                return call(
                    api_client,
                    "POST",
                    f"/api/v1/namespaces/{namespace}/pods",
                    body={
                        "metadata": {"name": "app"},
                        "spec": {"containers": [{"name": "app", "image": "echo:test"}]},
                    },
                )
            except ApiError as exc:
                if exc.status >= 500:  # the admission server may still be starting
                    return None
                raise

        pod = eventually(create_pod, timeout=30, what="an admitted Pod")
        containers = [c["name"] for c in pod["spec"].get("initContainers", [])]
        containers += [c["name"] for c in pod["spec"]["containers"]]
        assert "meshgate-proxy" in containers
        assert pod["metadata"]["labels"]["meshgate.io/injected"] == "true"

        # /healthz answers on the Pod address.
        with socket.create_connection(("127.0.0.1", op.metrics_port), timeout=5):
            pass
    finally:
        op.stop()
        with contextlib.suppress(ApiError):
            call(api_client, "DELETE", f"{WEBHOOKS}/{webhook_name}")
        with contextlib.suppress(ApiError):
            call(
                api_client,
                "DELETE",
                f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{owner['metadata']['name']}",
            )
        print(op.log_tail(60))
