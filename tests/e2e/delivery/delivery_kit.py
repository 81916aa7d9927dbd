"""What the push delivery tests and bench/delivery share: the workload (a Gateway's proxies and
injected sidecars in one meshed namespace, one Route serving both), the change (the Route's
redirect target), and asking each proxy whether it serves it.

Every proxy is asked through its own listener: a gateway Pod on its HTTP port, a sidecar on its
outbound port (as the app's HTTP_PROXY). The Route answers `/change` with a redirect whose
Location names the change number, so the proxy itself answers (no backend on the measured path).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.agent import VOLUME_SYNC_ANNOTATION
from harness.node import NODE_NAME
from kubernetes import client

from meshproxy import configparts

Body = dict[str, Any]
GATEWAY = "edge"
GATEWAY_PORT = 8080
OUTBOUND_PORT = 15001
STATS_PORT = 15090
ROUTE = "change"
ECHO = "meshgate.local/echo:latest"


def set_volume_sync_period(core: client.CoreV1Api, seconds: str | None) -> None:
    """kubelet's delay on the node agent's Pods (None: back to instant files)."""
    core.patch_node(NODE_NAME, {"metadata": {"annotations": {VOLUME_SYNC_ANNOTATION: seconds}}})


def _deployment(name: str, replicas: int, labels: dict[str, str]) -> Body:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 5,
                    "containers": [
                        {
                            "name": "app",
                            "image": ECHO,
                            "env": [{"name": "VERSION", "value": name}],
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "readinessProbe": {
                                "httpGet": {"path": "/healthz", "port": "http"},
                                "periodSeconds": 1,
                            },
                        }
                    ],
                },
            },
        },
    }


def route(change: int) -> Body:
    """The Route on the gateway and for the `echo` Service's mesh traffic: `/change` redirects
    to `/changed/<change>`, everything else goes to echo."""
    return {
        "apiVersion": "meshgate.io/v1alpha1",
        "kind": "Route",
        "metadata": {"name": ROUTE},
        "spec": {
            "parentRefs": [{"name": GATEWAY}],
            "hosts": ["echo"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/change"}}],
                    "filters": [
                        {
                            "type": "RequestRedirect",
                            "requestRedirect": {
                                "path": {
                                    "type": "ReplaceFullPath",
                                    "replaceFullPath": f"/changed/{change}",
                                },
                                "statusCode": 302,
                            },
                        }
                    ],
                },
                {"backendRefs": [{"name": "echo", "port": 8080}]},
            ],
        },
    }


def manifests(gateway_replicas: int, sidecars: int) -> list[Body]:
    """The workload, for a namespace labelled `meshgate.io/inject=enabled`."""
    return [
        {
            "apiVersion": "meshgate.io/v1alpha1",
            "kind": "Gateway",
            "metadata": {"name": GATEWAY},
            "spec": {
                "replicas": gateway_replicas,
                "listeners": [{"name": "http", "port": GATEWAY_PORT, "protocol": "HTTP"}],
            },
        },
        _deployment("echo", 1, {"app": "echo"}),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "echo"},
            "spec": {
                "selector": {"app": "echo"},
                "ports": [{"name": "http", "port": 8080, "targetPort": "http"}],
            },
        },
        _deployment("client", sidecars, {"app": "client"}),
        route(0),
    ]


@dataclass(frozen=True)
class ProxyAt:
    """One proxy and how to ask it for `/change`."""

    pod: str
    kind: str  # "gateway" or "sidecar"
    address: str
    port: int
    request: bytes


def proxies(core: client.CoreV1Api, namespace: str) -> list[ProxyAt]:
    """Every running gateway proxy and sidecar of the workload."""
    out = []
    host = f"echo.{namespace}.svc.cluster.local:8080"
    for pod in core.list_namespaced_pod(namespace).items:
        ip, labels = pod.status.pod_ip, pod.metadata.labels or {}
        if not ip or pod.metadata.deletion_timestamp or pod.status.phase != "Running":
            continue
        if labels.get("meshgate.io/gateway") == GATEWAY:
            request = b"GET /change HTTP/1.1\r\nHost: edge\r\n\r\n"
            out.append(ProxyAt(pod.metadata.name, "gateway", ip, GATEWAY_PORT, request))
        elif labels.get("app") == "client":
            request = f"GET http://{host}/change HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
            out.append(ProxyAt(pod.metadata.name, "sidecar", ip, OUTBOUND_PORT, request))
    return sorted(out, key=lambda p: (p.kind, p.pod))


class Asker:
    """A kept-alive connection to one proxy; `change()` is the change number it serves now."""

    def __init__(self, proxy: ProxyAt) -> None:
        self.proxy = proxy
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def change(self) -> int | None:
        try:
            if self._conn is None:
                self._conn = await asyncio.wait_for(
                    asyncio.open_connection(self.proxy.address, self.proxy.port), 5
                )
            reader, writer = self._conn
            writer.write(self.proxy.request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            self.close()
            return None
        length = 0
        location = ""
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
            elif name.lower() == "location":
                location = value.strip()
        if length:
            await reader.readexactly(length)
        marker = "/changed/"
        return int(location.rsplit(marker, 1)[1]) if marker in location else None

    def close(self) -> None:
        if self._conn is not None:
            self._conn[1].close()
            self._conn = None


async def stream_connected(proxy: ProxyAt) -> bool:
    """The proxy's own word: its config stream to the operator is up."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(proxy.address, STATS_PORT), 5
        )
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n")
        text = (await asyncio.wait_for(reader.read(), 5)).decode()
        writer.close()
    except (OSError, TimeoutError):
        return False
    return "\nmeshproxy_config_stream_connected 1\n" in text


def mounted_config(state_dir: Path, namespace: str, pod: Body | Any) -> str:
    """The config the proxy's Pod has mounted (what the kubelet projected), assembled from its
    parts when the file is their index, as the proxy reads it."""
    meta = pod.metadata
    root = state_dir / "pods" / f"{namespace}_{meta.name}_{meta.uid}" / "root"
    with contextlib.suppress(OSError, configparts.ConfigPartsError):
        return configparts.read_config(str(root / "etc/meshgate/config.json")).decode()
    return ""


def descendants(pid: int) -> list[int]:
    """Every process under `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def operator_pid(agent_pid: int) -> int | None:
    """The operator container's process: a descendant of this node agent, never anyone else's."""
    for pid in descendants(agent_pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"meshgate") for a in argv) and b"operator" in argv:
            return pid
    return None
