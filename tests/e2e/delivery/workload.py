"""Setting the delivery workload up in a fresh meshed namespace and waiting until every proxy
streams its config; shared by the e2e tests here and bench/delivery."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from delivery_kit import ProxyAt, manifests, proxies, stream_connected
from kubernetes import client, utils
from kubernetes.client import ApiClient

from meshgate.localcluster.waiting import wait_for


@contextmanager
def meshed_workload(
    api_client: ApiClient, namespace: str, gateway_replicas: int, sidecars: int, timeout: float
) -> Iterator[list[ProxyAt]]:
    """The workload running, every proxy's config stream up; the namespace deleted afterwards."""
    core = client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    core.create_namespace(
        client.V1Namespace(
            metadata=client.V1ObjectMeta(name=namespace, labels={"meshgate.io/inject": "enabled"})
        )
    )
    try:
        wait_for(
            lambda: core.list_namespaced_service_account(namespace).items,
            timeout=30,
            what="the namespace's default ServiceAccount",
        )
        for doc in manifests(gateway_replicas, sidecars):
            if doc["apiVersion"].startswith("meshgate.io/"):
                plural = doc["kind"].lower() + "s"
                custom.create_namespaced_custom_object(
                    "meshgate.io", "v1alpha1", namespace, plural, doc
                )
            else:
                utils.create_from_dict(api_client, doc, namespace=namespace)  # type: ignore[no-untyped-call]
        wanted = gateway_replicas + sidecars

        def all_streaming() -> list[ProxyAt] | None:
            found = proxies(core, namespace)
            if len(found) != wanted:
                return None

            async def check() -> list[bool]:
                return await asyncio.gather(*(stream_connected(p) for p in found))

            return found if all(asyncio.run(check())) else None

        yield wait_for(all_streaming, timeout=timeout, what=f"{wanted} proxies streaming config")
    finally:
        core.delete_namespace(namespace)
