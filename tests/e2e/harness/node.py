"""The fake Node: registered Ready with allocatable resources, its Lease and status kept fresh.

The node lifecycle controller marks a Node NotReady (and its Pods not ready) once its Lease
is older than the grace period, so the heartbeat runs for as long as the agent does. This
module must never touch any Node but its own.
"""

from __future__ import annotations

import asyncio
import platform
from typing import Any

from .kubeapi import ApiException, Kube
from .timefmt import rfc3339, rfc3339_micro

Body = dict[str, Any]
NODE_NAME = "meshgate-local-node"
LEASE_SECONDS = 40
RENEW_EVERY = 5.0
CAPACITY = {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"}


def node_body(name: str, address: str) -> Body:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64" if platform.machine() == "x86_64" else "arm64",
                "meshgate.io/local-node": "true",
            },
        },
        "spec": {},
    }


def node_status(address: str, since: str, kubelet_port: int | None = None) -> Body:
    now = rfc3339()

    def condition(kind: str, status: str, reason: str) -> Body:
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": "meshgate local node agent",
            "lastHeartbeatTime": now,
            "lastTransitionTime": since,
        }

    status: Body = {
        "status": {
            "capacity": CAPACITY,
            "allocatable": CAPACITY,
            "addresses": [
                {"type": "InternalIP", "address": address},
                {"type": "Hostname", "address": NODE_NAME},
            ],
            "conditions": [
                condition("Ready", "True", "KubeletReady"),
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID"),
            ],
            "nodeInfo": {
                "architecture": platform.machine(),
                "bootID": "",
                "containerRuntimeVersion": "meshgate-local://0",
                "kernelVersion": platform.release(),
                "kubeProxyVersion": "",
                "kubeletVersion": "v1.34.4",
                "machineID": "",
                "operatingSystem": "linux",
                "osImage": "meshgate local node agent",
                "systemUUID": "",
            },
        }
    }
    if kubelet_port is not None:
        # Where the API server dials for pods/exec and pods/log (`kubelet-api`, at InternalIP).
        status["status"]["daemonEndpoints"] = {"kubeletEndpoint": {"Port": kubelet_port}}
    return status


class NodeHeartbeat:
    """Registers the Node, then renews its Lease and status until cancelled."""

    def __init__(
        self, kube: Kube, address: str, name: str = NODE_NAME, kubelet_port: int | None = None
    ) -> None:
        self.kube = kube
        self.address = address
        self.name = name
        self.kubelet_port = kubelet_port
        self._since = rfc3339()

    async def register(self) -> None:
        try:
            await self.kube.request("POST", "/api/v1/nodes", node_body(self.name, self.address))
        except ApiException as exc:
            if exc.status != 409:
                raise
        await self._beat()

    async def _beat(self) -> None:
        await self.kube.merge_patch(
            f"/api/v1/nodes/{self.name}/status",
            node_status(self.address, self._since, self.kubelet_port),
        )
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{self.name}"
        spec = {
            "holderIdentity": self.name,
            "leaseDurationSeconds": LEASE_SECONDS,
            "renewTime": rfc3339_micro(),
        }
        if await self.kube.get_or_none(path) is None:
            lease = {"metadata": {"name": self.name}, "spec": spec}
            await self.kube.request("POST", path.rsplit("/", 1)[0], lease)
        else:
            await self.kube.merge_patch(path, {"spec": spec})

    async def run(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            try:
                await self._beat()
            except ApiException:
                continue  # the next beat tries again; the grace period allows several misses
