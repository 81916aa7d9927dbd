"""`proxy-status`, `proxy-config` and `stat` against the real API server: which Pods are proxies,
what each should run, and what is said when a proxy cannot be reached. (A proxy answering through
the Pod proxy needs a routable Pod address: the e2e test under tests/e2e/cli runs that.)"""

from __future__ import annotations

from kube_objects import RunCli, create, pod
from kubernetes.client import ApiClient


def test_proxy_status_lists_each_proxy_with_its_desired_version(
    cli_crds: None, api_client: ApiClient, namespace: str, run_cli: RunCli
) -> None:
    create(
        api_client,
        namespace,
        {
            "kind": "ConfigMap",
            "metadata": {
                "name": "meshgate-gw-edge",
                "labels": {
                    "app.kubernetes.io/managed-by": "meshgate",
                    "app.kubernetes.io/name": "meshgate-gateway",
                },
                "annotations": {"meshgate.io/config-version": "0123456789abcdef"},
            },
            "data": {"config.json": "{}"},
        },
    )
    create(api_client, namespace, pod("edge-1", {"meshgate.io/gateway": "edge"}, "meshproxy"))
    create(api_client, namespace, pod("plain", {"app": "plain"}))
    code, data = run_cli("proxy-status", "-n", namespace)
    assert code == 1  # a proxy that never started is not in step
    assert [(p["pod"], p["role"], p["desiredVersion"], p["status"]) for p in data["proxies"]] == [
        ("edge-1", "gateway", "0123456789abcdef", "UNREACHABLE")
    ]
    assert data["proxies"][0]["detail"].startswith("no Pod IP")


def test_proxy_config_refuses_a_pod_without_a_proxy(
    cli_crds: None,
    api_client: ApiClient,
    namespace: str,
    run_cli: RunCli,
) -> None:
    create(api_client, namespace, pod("plain", {"app": "plain"}))
    code, _ = run_cli("proxy-config", "plain", "-n", namespace)
    assert code == 1
    assert "runs no meshgate proxy" in run_cli.err  # type: ignore[attr-defined]
    code, _ = run_cli("proxy-config", "missing", "routes", "-n", namespace)
    assert code == 1


def test_proxy_config_says_when_the_proxy_does_not_answer(
    cli_crds: None,
    api_client: ApiClient,
    namespace: str,
    run_cli: RunCli,
) -> None:
    create(api_client, namespace, pod("edge-1", {"meshgate.io/gateway": "edge"}, "meshproxy"))
    code, _ = run_cli("proxy-config", "edge-1", "-n", namespace)
    assert code == 1
    assert "did not answer" in run_cli.err  # type: ignore[attr-defined]


def test_stat_with_no_proxy_answering_exits_one(
    cli_crds: None, namespace: str, run_cli: RunCli
) -> None:
    code, data = run_cli("stat", "-n", namespace, "--window", "0")
    assert code == 1
    assert data["signals"] == []
