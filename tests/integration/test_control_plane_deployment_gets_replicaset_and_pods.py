"""The real controller-manager turns a Deployment into a ReplicaSet and that into Pods."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client import ApiClient

from meshgate.localcluster.waiting import wait_for

pytestmark = pytest.mark.integration


def deployment(name: str, replicas: int) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="app", image="registry.invalid/app:1")]
                ),
            ),
        ),
    )


def test_deployment_gets_replicaset_and_pods_owned_by_it(
    api_client: ApiClient, namespace: str
) -> None:
    apps = client.AppsV1Api(api_client)
    core = client.CoreV1Api(api_client)
    dep = apps.create_namespaced_deployment(namespace, deployment("web", 2))

    def replicaset() -> client.V1ReplicaSet | None:
        items = apps.list_namespaced_replica_set(namespace).items
        return items[0] if items else None

    rs = wait_for(replicaset, timeout=60, what="the Deployment's ReplicaSet")
    rs_owner = rs.metadata.owner_references[0]
    assert (rs_owner.kind, rs_owner.name, rs_owner.uid) == ("Deployment", "web", dep.metadata.uid)
    assert rs_owner.controller is True

    def two_pods() -> list[client.V1Pod] | None:
        pods = core.list_namespaced_pod(namespace, label_selector="app=web").items
        return pods if len(pods) == 2 else None

    pods = wait_for(two_pods, timeout=60, what="2 Pods of the ReplicaSet")
    for pod in pods:
        owner = pod.metadata.owner_references[0]
        assert (owner.kind, owner.name, owner.uid) == (
            "ReplicaSet",
            rs.metadata.name,
            rs.metadata.uid,
        )
        # No kubelet and no scheduler here: the Pods exist but never run.
        assert pod.status.phase == "Pending"
        assert pod.spec.node_name is None
