"""`meshgate analyze` without -f compiles what the cluster holds, as the operator's next
reconcile would, and names each problem's field."""

from __future__ import annotations

from kube_objects import RunCli, create
from kubernetes.client import ApiClient


def test_a_route_to_a_missing_service_is_an_error_on_its_backend_ref(
    cli_crds: None, api_client: ApiClient, namespace: str, run_cli: RunCli
) -> None:
    create(
        api_client,
        namespace,
        {
            "kind": "Route",
            "metadata": {"name": "orders"},
            "spec": {
                "hosts": ["orders"],
                "rules": [{"backendRefs": [{"name": "nope", "port": 80}]}],
            },
        },
    )
    code, report = run_cli("analyze", "-n", namespace)
    assert code == 1
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert {(f["name"], f["field"], f["reason"]) for f in errors} >= {
        ("orders", "spec.rules[0].backendRefs[0]", "BackendNotFound")
    }
    assert {f["namespace"] for f in report["findings"]} == {namespace}


def test_a_namespace_with_nothing_wrong_exits_zero(
    cli_crds: None, namespace: str, run_cli: RunCli
) -> None:
    code, report = run_cli("analyze", "-n", namespace)
    assert code == 0
    assert report["errors"] == 0
