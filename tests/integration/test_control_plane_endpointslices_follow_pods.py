"""The real EndpointSlice controller follows a Service's selector to its Pods' addresses."""

from __future__ import annotations

import ipaddress

import pytest
from kubernetes import client
from kubernetes.client import ApiClient

from meshgate.localcluster.pki import SERVICE_CIDR
from meshgate.localcluster.waiting import wait_for

pytestmark = pytest.mark.integration

POD_IP = "10.244.0.5"


def test_endpointslice_lists_the_address_of_a_ready_selected_pod(
    request: pytest.FixtureRequest, api_client: ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(api_client)
    discovery = client.DiscoveryV1Api(api_client)
    svc = core.create_namespaced_service(
        namespace,
        client.V1Service(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1ServiceSpec(
                selector={"app": "web"},
                ports=[client.V1ServicePort(name="http", port=80, target_port=8080)],
            ),
        ),
    )
    assert ipaddress.IPv4Address(svc.spec.cluster_ip) in ipaddress.IPv4Network(SERVICE_CIDR)
    # The EndpointSlice controller skips Pods whose Node does not exist, and there is no kubelet
    # to register one: the test plays the kubelet, with a Node object and the Pod's status.
    node = f"{namespace}-node"
    core.create_node(client.V1Node(metadata=client.V1ObjectMeta(name=node)))
    request.addfinalizer(lambda: core.delete_node(node))
    core.create_namespaced_pod(
        namespace,
        client.V1Pod(
            metadata=client.V1ObjectMeta(name="web-0", labels={"app": "web"}),
            spec=client.V1PodSpec(
                node_name=node,
                containers=[client.V1Container(name="app", image="registry.invalid/app:1")],
            ),
        ),
    )
    core.patch_namespaced_pod_status(
        "web-0",
        namespace,
        {
            "status": {
                "phase": "Running",
                "podIP": POD_IP,
                "podIPs": [{"ip": POD_IP}],
                "conditions": [{"type": "Ready", "status": "True"}],
            }
        },
    )

    def addresses() -> list[str] | None:
        found = [
            addr
            for eps in discovery.list_namespaced_endpoint_slice(
                namespace, label_selector="kubernetes.io/service-name=web"
            ).items
            for ep in eps.endpoints or []
            for addr in ep.addresses
        ]
        return found or None

    assert wait_for(addresses, timeout=60, what="the Pod's address in an EndpointSlice") == [POD_IP]
    (eps,) = discovery.list_namespaced_endpoint_slice(
        namespace, label_selector="kubernetes.io/service-name=web"
    ).items
    assert eps.metadata.owner_references[0].uid == svc.metadata.uid
    assert [(p.name, p.port) for p in eps.ports] == [("http", 8080)]
