"""`meshgate describe pod|service`: the meshgate objects that apply, read from the cluster."""

from __future__ import annotations

from kube_objects import RunCli, create, pod
from kubernetes.client import ApiClient


def test_describe_pod_and_service_show_routes_rules_and_policies(
    cli_crds: None, api_client: ApiClient, namespace: str, run_cli: RunCli
) -> None:
    create(
        api_client,
        namespace,
        {
            "kind": "Service",
            "metadata": {"name": "reviews"},
            "spec": {"selector": {"app": "reviews"}, "ports": [{"port": 9080}]},
        },
    )
    create(api_client, namespace, pod("reviews-1", {"app": "reviews", "version": "v2"}))
    for obj in (
        {
            "kind": "Route",
            "metadata": {"name": "reviews-canary"},
            "spec": {
                "hosts": ["reviews"],
                "rules": [{"backendRefs": [{"name": "reviews", "port": 9080, "subset": "v2"}]}],
            },
        },
        {
            "kind": "DestinationRule",
            "metadata": {"name": "reviews"},
            "spec": {"host": "reviews", "subsets": [{"name": "v2", "labels": {"version": "v2"}}]},
        },
        {
            "kind": "PeerAuthentication",
            "metadata": {"name": "strict"},
            "spec": {"mtls": {"mode": "STRICT"}},
        },
        {
            "kind": "AuthorizationPolicy",
            "metadata": {"name": "other-app"},
            "spec": {"selector": {"matchLabels": {"app": "ratings"}}, "action": "DENY"},
        },
    ):
        create(api_client, namespace, obj)

    code, data = run_cli("describe", "pod", "reviews-1", "-n", namespace)
    assert code == 0
    assert data["services"] == ["reviews"]
    kinds = {(a["kind"], a["name"]) for a in data["applied"]}
    assert kinds == {
        ("Route", f"{namespace}/reviews-canary"),
        ("DestinationRule", f"{namespace}/reviews"),
        ("PeerAuthentication", f"{namespace}/strict"),
    }

    code, data = run_cli("describe", "service", "reviews", "-n", namespace)
    assert code == 0
    assert ("Route", f"{namespace}/reviews-canary") in {
        (a["kind"], a["name"]) for a in data["applied"]
    }


def test_describe_an_unknown_pod_exits_one(cli_crds: None, namespace: str, run_cli: RunCli) -> None:
    code, _ = run_cli("describe", "pod", "nope", "-n", namespace)
    assert code == 1
