"""The scheduler's one job here: bind every unscheduled Pod to the local Node.

There is no kube-scheduler in the local control plane; the `pods/binding` subresource is what a
scheduler writes, so Pods pass through the same API path as on a real cluster. This module must
never bind a Pod that waits on scheduling gates or names another scheduler.
"""

from __future__ import annotations

from typing import Any

from .kubeapi import ApiException, Kube

Body = dict[str, Any]


def wants_binding(pod: Body) -> bool:
    spec = pod["spec"]
    return (
        not spec.get("nodeName")
        and not spec.get("schedulingGates")
        and spec.get("schedulerName", "default-scheduler") == "default-scheduler"
        and not pod["metadata"].get("deletionTimestamp")
        and pod.get("status", {}).get("phase", "Pending") == "Pending"
    )


async def bind_pending(kube: Kube, node_name: str) -> int:
    """Bind every Pending, unscheduled Pod to `node_name`; how many were bound."""
    pods = await kube.get("/api/v1/pods", {"fieldSelector": "spec.nodeName="})
    bound = 0
    for pod in pods.get("items") or []:
        if not wants_binding(pod):
            continue
        meta = pod["metadata"]
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": meta["name"], "uid": meta["uid"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
        }
        try:
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/binding"
            await kube.request("POST", path, binding)
            bound += 1
        except ApiException as exc:
            if exc.status not in (404, 409):  # deleted meanwhile, or already bound
                raise
    return bound
