"""A meshed namespace of many Services, as documents for `golden_cases.snapshot`: the sidecar
config grows about 1.1 KB per Service of one port and one endpoint (every DNS form of the port),
so 500 of them pass the 512 KiB up to which a config stays inline."""

from __future__ import annotations

from typing import Any


def meshed_namespace(services: int, namespace: str = "shop") -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {"meshgate.io/inject": "enabled"}},
        }
    ]
    for i in range(services):
        name = f"svc-{i:04d}"
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
            }
        )
        docs.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"{name}-1",
                    "namespace": namespace,
                    "labels": {"kubernetes.io/service-name": name},
                },
                "ports": [{"name": "http", "port": 8080}],
                "endpoints": [
                    {"addresses": [f"10.1.{i // 250}.{i % 250 + 1}"], "conditions": {"ready": True}}
                ],
            }
        )
    return docs
