"""Deleting an owner makes the real garbage collector delete what it owns."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client import ApiClient

from meshgate.localcluster.waiting import wait_for

pytestmark = pytest.mark.integration


def test_deleting_a_configmap_owner_garbage_collects_its_dependent(
    api_client: ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(api_client)
    owner = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
    )
    ref = client.V1OwnerReference(
        api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid
    )
    core.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name="dependent", owner_references=[ref])),
    )

    core.delete_namespaced_config_map("owner", namespace)

    def dependent_gone() -> bool:
        names = {cm.metadata.name for cm in core.list_namespaced_config_map(namespace).items}
        return "dependent" not in names

    wait_for(dependent_gone, timeout=60, what="the garbage collector to delete the dependent")
