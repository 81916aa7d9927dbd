"""SIGKILL the operator in the middle of a burst of Route changes, restart it: the generated
config converges to exactly what a compile of the final cluster state gives."""

from __future__ import annotations

import json

from kubernetes.client import ApiClient
from manifests import endpoint_slice, gateway, route, service
from operator_harness import OperatorProcess, apply, eventually, get

from meshgate.compile import compile_snapshot
from meshgate.kube.listing import read_cluster
from meshgate.kube.rest import connect
from meshgate.settings import Settings


def test_kill_during_burst_then_restart_converges(
    api_client: ApiClient, kubeconfig: str, namespace: str, running_operator: OperatorProcess
) -> None:
    ns = namespace
    apply(api_client, service("orders"), ns)
    apply(api_client, endpoint_slice("orders", "10.9.0.1"), ns)
    apply(api_client, gateway(replicas=1), ns)
    eventually(
        lambda: get(api_client, "ConfigMap", "v1", ns, "meshgate-gw-edge"),
        timeout=20,
        what="first config",
    )

    for i in range(40):
        apply(api_client, route(f"r{i}", "orders", f"/p{i}"), ns)
        if i == 20:
            running_operator.kill()
    running_operator.start()

    settings = Settings(namespaces=(ns,), operator_namespace="meshgate-system")
    want = compile_snapshot(read_cluster(connect(kubeconfig), settings).snapshot).gateways[0]

    def converged() -> bool:
        cm = get(api_client, "ConfigMap", "v1", ns, "meshgate-gw-edge")
        return bool(cm) and json.loads(cm["data"]["config.json"])["version"] == want.version  # type: ignore[index]

    eventually(converged, timeout=30, what=f"config version {want.version}")
    cm = get(api_client, "ConfigMap", "v1", ns, "meshgate-gw-edge")
    assert cm is not None
    assert cm["data"]["config.json"] == want.config_json
    routes = json.loads(cm["data"]["config.json"])["listeners"][0]["virtualHosts"][0]["routes"]
    assert len(routes) == 40
