"""`meshgate version`: this client, the operator Deployment's version, every proxy image."""

from __future__ import annotations

from kube_objects import RunCli, create, pod
from kubernetes.client import ApiClient

from meshgate import __version__


def test_version_finds_the_operator_and_the_proxies(
    cli_crds: None, api_client: ApiClient, namespace: str, run_cli: RunCli
) -> None:
    labels = {
        "app.kubernetes.io/part-of": "meshgate",
        "app.kubernetes.io/name": "meshgate",
        "app.kubernetes.io/version": "9.8.7",
    }
    create(
        api_client,
        namespace,
        {
            "kind": "Deployment",
            "metadata": {"name": "meshgate", "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "op"}},
                "template": {
                    "metadata": {"labels": {"app": "op"}},
                    "spec": {
                        "containers": [{"name": "operator", "image": "meshgate-operator:9.8.7"}]
                    },
                },
            },
        },
    )
    image = f"meshproxy:{namespace[-6:]}"  # other tests' proxies use other images
    create(
        api_client, namespace, pod("edge-1", {"meshgate.io/gateway": "edge"}, "meshproxy", image)
    )
    code, data = run_cli("version", "--operator-namespace", namespace)
    assert code == 0
    assert data["client"] == {"version": __version__}
    assert [(o["version"], o["image"]) for o in data["operator"]] == [
        ("9.8.7", "meshgate-operator:9.8.7")
    ]
    assert {"role": "gateway", "image": image, "injectedVersion": "", "pods": 1} in data["proxies"]


def test_client_only_never_needs_a_cluster(run_cli: RunCli) -> None:
    code, data = run_cli("version", "--client")
    assert (code, data) == (0, {"client": {"version": __version__}})
