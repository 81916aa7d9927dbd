"""Builders of the objects injection adds to a Pod: the proxy container, the capture init
container, the volumes and the app containers' proxy environment.

Pure functions returning fresh dicts. This module must never look at the Pod's opt-in (that is
`policy`) nor decide where things go in the Pod (that is `patch`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshproxy.configparts import MAX_PARTS

from . import names, quantities
from .settings import InjectSettings

Obj = dict[str, Any]

PROXY_URL = f"http://127.0.0.1:{names.OUTBOUND_PORT}"
# Only loopback and the Kubernetes API bypass the proxy: every other destination, mesh Services
# included, must go through it or mTLS and policy would be skipped. `$(KUBERNETES_SERVICE_HOST)`
# is expanded by the kubelet, which always sets that variable.
NO_PROXY = ",".join(
    (
        "127.0.0.1",
        "localhost",
        "::1",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "$(KUBERNETES_SERVICE_HOST)",
    )
)
PROXY_ENV: tuple[tuple[str, str], ...] = (
    ("HTTP_PROXY", PROXY_URL),
    ("http_proxy", PROXY_URL),
    ("NO_PROXY", NO_PROXY),
    ("no_proxy", NO_PROXY),
)
PROXY_ENV_NAMES = frozenset(n for n, _ in PROXY_ENV)
DEFAULT_CAPTURE_PORTS = (80,)


def app_env() -> list[Obj]:
    return [{"name": n, "value": v} for n, v in PROXY_ENV]


def _field_env(name: str, path: str) -> Obj:
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def proxy_resources(
    annotations: Mapping[str, str], settings: InjectSettings
) -> tuple[Obj, list[str]]:
    """Resources for the proxy: settings' defaults, overridden by valid Pod annotations."""
    res = settings.resources
    cpu, memory = res.cpu_request, res.memory_request
    memory_limit = res.memory_limit
    warnings: list[str] = []
    if (raw := annotations.get(names.PROXY_CPU_KEY)) is not None:
        if (ok := quantities.cpu(raw)) is not None:
            cpu = ok
        else:
            warnings.append(
                f'meshgate: {names.PROXY_CPU_KEY}="{raw}" is not a CPU quantity; using {cpu}'
            )
    if (raw := annotations.get(names.PROXY_MEMORY_KEY)) is not None:
        if (ok := quantities.memory(raw)) is not None:
            # The annotation sets request and limit together, so they can never cross.
            memory = memory_limit = ok
        else:
            warnings.append(
                f'meshgate: {names.PROXY_MEMORY_KEY}="{raw}" is not a memory quantity; '
                f"using {memory}"
            )
    # No CPU limit: throttling a proxy adds latency to every request of the app.
    return {
        "requests": {"cpu": cpu, "memory": memory},
        "limits": {"memory": memory_limit},
    }, warnings


def _restricted_security_context() -> Obj:
    # Everything the `restricted` Pod Security Standard asks of a container, stated on the
    # container so it holds whatever the Pod's own securityContext says.
    return {
        "runAsNonRoot": True,
        "runAsUser": names.PROXY_UID,
        "runAsGroup": names.PROXY_UID,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _ready_get() -> Obj:
    # A fresh dict per probe: shared objects would come out of YAML dumps as anchors.
    return {"httpGet": {"path": "/ready", "port": names.STATS_PORT}}


def config_server_env(settings: InjectSettings) -> list[Obj]:
    """Where the sidecar streams its namespace's config from (`meshproxy.delivery`); it asks for
    `mesh/$POD_NAMESPACE` with its workload certificate."""
    if not settings.config_server:
        return []
    return [
        {"name": "MESHGATE_CONFIG_SERVER", "value": settings.config_server},
        {"name": "MESHGATE_CONFIG_SERVER_ID", "value": settings.config_server_id},
    ]


def proxy_container(
    annotations: Mapping[str, str], settings: InjectSettings
) -> tuple[Obj, list[str]]:
    resources, warnings = proxy_resources(annotations, settings)
    container: Obj = {
        "name": names.PROXY_CONTAINER,
        "image": settings.proxy_image,
        "imagePullPolicy": settings.image_pull_policy,
        "command": ["meshproxy"],
        "args": [
            "--config",
            names.CONFIG_FILE,
            "--stats-port",
            str(names.STATS_PORT),
            "--log-level",
            settings.proxy_log_level,
        ],
        "ports": [
            {"name": "mesh-outbound", "containerPort": names.OUTBOUND_PORT, "protocol": "TCP"},
            {"name": "mesh-inbound", "containerPort": names.INBOUND_PORT, "protocol": "TCP"},
            {"name": "mesh-stats", "containerPort": names.STATS_PORT, "protocol": "TCP"},
        ],
        "env": [
            _field_env("POD_NAME", "metadata.name"),
            _field_env("POD_NAMESPACE", "metadata.namespace"),
            _field_env("POD_IP", "status.podIP"),
            _field_env("SERVICE_ACCOUNT", "spec.serviceAccountName"),
            {"name": "MESHGATE_TRUST_DOMAIN", "value": settings.trust_domain},
            {"name": "MESHGATE_POD_LABELS_FILE", "value": f"{names.PODINFO_DIR}/labels"},
            *config_server_env(settings),
        ],
        "resources": resources,
        "securityContext": _restricted_security_context(),
        # The startup probe holds back the app containers (native sidecar) until the proxy
        # answers; the readiness probe then keeps the Pod out of Services while it does not.
        "startupProbe": {**_ready_get(), "periodSeconds": 1, "failureThreshold": 60},
        "readinessProbe": {**_ready_get(), "periodSeconds": 5, "failureThreshold": 3},
        "volumeMounts": [
            {"name": names.CONFIG_VOLUME, "mountPath": names.CONFIG_DIR, "readOnly": True},
            {"name": names.IDENTITY_VOLUME, "mountPath": names.IDENTITY_DIR, "readOnly": True},
            {"name": names.PODINFO_VOLUME, "mountPath": names.PODINFO_DIR, "readOnly": True},
        ],
    }
    if settings.native_sidecar:
        container["restartPolicy"] = "Always"
    return container, warnings


def config_volume() -> Obj:
    """The namespace's sidecar config: the index (or the whole config) and `MAX_PARTS` optional
    part ConfigMaps, in one projected volume the kubelet swaps atomically, so an index and its
    parts change together and a config that grows into parts (or out of them) never needs the
    Pod injected again. Optional parts: the Pod starts whatever their count."""
    parts = [
        {"configMap": {"name": f"{names.MESH_CONFIG_PART_PREFIX}{n}", "optional": True}}
        for n in range(MAX_PARTS)
    ]
    sources = [{"configMap": {"name": names.MESH_CONFIGMAP}}, *parts]
    return {"name": names.CONFIG_VOLUME, "projected": {"sources": sources}}


def volumes(service_account: str) -> list[Obj]:
    return [
        config_volume(),
        {
            "name": names.IDENTITY_VOLUME,
            "secret": {"secretName": f"{names.IDENTITY_SECRET_PREFIX}{service_account}"},
        },
        {
            "name": names.PODINFO_VOLUME,
            "downwardAPI": {
                "items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]
            },
        },
    ]


def capture_ports(annotations: Mapping[str, str]) -> tuple[tuple[int, ...], list[str]]:
    raw = annotations.get(names.CAPTURE_PORTS_KEY)
    if raw is None:
        return DEFAULT_CAPTURE_PORTS, []
    ok = quantities.ports(raw)
    if ok is None:
        default = ",".join(map(str, DEFAULT_CAPTURE_PORTS))
        return DEFAULT_CAPTURE_PORTS, [
            f'meshgate: {names.CAPTURE_PORTS_KEY}="{raw}" is not a list of ports; using {default}'
        ]
    return ok, []


def capture_script(ports: tuple[int, ...]) -> str:
    """iptables rules sending the app's outbound TCP to these ports through the proxy.

    The proxy's own traffic (uid 1337) and loopback are left alone, or it would loop forever.
    """
    chain = "MESHGATE_OUTPUT"
    lines = [
        f"iptables -t nat -N {chain}",
        f"iptables -t nat -A OUTPUT -p tcp -j {chain}",
        f"iptables -t nat -A {chain} -m owner --uid-owner {names.PROXY_UID} -j RETURN",
        f"iptables -t nat -A {chain} -d 127.0.0.0/8 -j RETURN",
    ]
    lines += [
        f"iptables -t nat -A {chain} -p tcp --dport {p} -j REDIRECT --to-ports "
        f"{names.OUTBOUND_PORT}"
        for p in ports
    ]
    return "\n".join(lines)


def capture_container(ports: tuple[int, ...], settings: InjectSettings) -> Obj:
    # Rewriting the Pod's netfilter tables needs root with NET_ADMIN and NET_RAW; no Pod
    # Security level below `privileged` allows that, which docs/injection.md says.
    return {
        "name": names.CAPTURE_CONTAINER,
        "image": settings.capture_image_or_proxy,
        "imagePullPolicy": settings.image_pull_policy,
        "command": ["/bin/sh", "-ec", capture_script(ports)],
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"memory": "64Mi"},
        },
        "securityContext": {
            "runAsNonRoot": False,
            "runAsUser": 0,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]},
            "readOnlyRootFilesystem": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
