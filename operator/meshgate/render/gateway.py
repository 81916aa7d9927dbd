"""A Gateway's workload: ConfigMap, Deployment, Service, and a PodDisruptionBudget when it runs
more than one proxy. Pure: the compile output and the operator settings in, object dicts out.

The Deployment's pod template carries no config-version annotation on purpose: meshproxy
watches its mounted config file and hot-reloads it without dropping requests, so a config change
must not roll the pods (a rollout would drop connections and cost minutes on big gateways).

A config too large for one ConfigMap (`meshproxy.configparts`) is written as part ConfigMaps
first, then the index in the gateway's usual ConfigMap: a proxy that reads the new index finds its
parts already there. The pod template always mounts the index and `MAX_PARTS` optional part
ConfigMaps in one projected volume, so a config crossing the size threshold never rolls the pods.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from meshgate.compile.paths import (
    CONFIG_DIR,
    CONFIG_FILE,
    CONFIG_KEY,
    EDGE_SECRET_DIR,
    IDENTITY_DIR,
    STATS_PORT,
    gateway_config_map,
    gateway_config_part,
    gateway_edge_secret,
    gateway_identity_secret,
    listener_cert_dir,
)
from meshgate.compile.result import GatewayOutput
from meshgate.settings import Settings
from meshproxy.configparts import MAX_PARTS

from .objects import GATEWAY_LABEL, KubeObject, config_map, gateway_owner, labels

PROXY_UID = 65532
PRIVILEGED_PORTS = 1024
_PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def render_gateway(out: GatewayOutput, settings: Settings) -> list[KubeObject]:
    """ConfigMap, Deployment, Service (+ PDB): the order they are applied in."""
    gw = out.gateway
    name = gateway_config_map(gw.name)
    object_labels = labels(
        **{"app.kubernetes.io/name": "meshgate-gateway", "app.kubernetes.io/instance": gw.name},
        **{GATEWAY_LABEL: gw.name},
    )
    owners = gateway_owner(gw, out.owner_api_version)
    objects = [
        *_config_maps(out, name, object_labels, owners),
        _deployment(out, settings, name, object_labels, owners),
        _service(out, name, object_labels, owners),
    ]
    if out.replicas > 1:
        objects.append(_pdb(out, name, object_labels, owners))
    return objects


def _config_maps(
    out: GatewayOutput, name: str, object_labels: dict[str, str], owners: list[dict[str, Any]]
) -> list[KubeObject]:
    """The config inline, or its parts and then the index naming them: the order to apply."""
    gw = out.gateway
    split = out.config_parts
    if split is None:
        data = {CONFIG_KEY: out.config_json}
        return [config_map(name, gw.namespace, data, out.version, object_labels, owners)]
    parts = [
        config_map(
            gateway_config_part(gw.name, number),
            gw.namespace,
            {},
            out.version,
            object_labels,
            owners,
            binary_data={file: base64.b64encode(chunk).decode("ascii")},
        )
        for number, (file, chunk) in enumerate(split.parts)
    ]
    index = {CONFIG_KEY: split.index_json}
    return [*parts, config_map(name, gw.namespace, index, out.version, object_labels, owners)]


def render_gateway_secrets(out: GatewayOutput) -> list[KubeObject]:
    """The generated edge Secret (API key digests, Redis URLs), when the gateway's edge policies
    need one. Kept apart from `render_gateway`: its content must never be logged or diffed."""
    if not out.edge_files:
        return []
    gw = out.gateway
    object_labels = labels(
        **{
            "app.kubernetes.io/name": "meshgate-gateway-edge",
            "app.kubernetes.io/instance": gw.name,
        },
        **{GATEWAY_LABEL: gw.name},
    )
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": _meta(
                gateway_edge_secret(gw.name),
                gw.namespace,
                object_labels,
                gateway_owner(gw, out.owner_api_version),
            ),
            "data": {
                name: base64.b64encode(text.encode()).decode("ascii")
                for name, text in out.edge_files
            },
        }
    ]


def _meta(
    name: str, namespace: str, object_labels: dict[str, str], owners: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": object_labels,
        "ownerReferences": owners,
    }


def port_name(listener: str, port: int) -> str:
    """Service/container port names are IANA service names: at most 15 characters."""
    if len(listener) <= 15 and _PORT_NAME.match(listener) and re.search("[a-z]", listener):
        return listener
    return f"port-{port}"


def _resources(out: GatewayOutput, settings: Settings) -> dict[str, dict[str, str]]:
    given = {kind: dict(pairs) for kind, pairs in out.resources}
    if given:
        return given
    return {
        "requests": {"cpu": settings.proxy_cpu_request, "memory": settings.proxy_memory_request},
        "limits": {"memory": settings.proxy_memory_limit},
    }


def config_server_env(settings: Settings, namespace: str, gateway: str) -> list[dict[str, str]]:
    """Where the gateway's proxies stream their config from (`meshproxy.delivery`), authenticated
    by the gateway's workload identity (mounted at IDENTITY_DIR); none when the operator serves
    no config stream."""
    if not settings.push_port:
        return []
    return [
        {"name": "MESHGATE_CONFIG_SERVER", "value": settings.push_dial_address},
        {"name": "MESHGATE_CONFIG_SERVER_ID", "value": settings.push_identity},
        {"name": "MESHGATE_CONFIG_TARGET", "value": f"gateway/{namespace}/{gateway}"},
    ]


def _deployment(
    out: GatewayOutput,
    settings: Settings,
    name: str,
    object_labels: dict[str, str],
    owners: list[dict[str, Any]],
) -> KubeObject:
    gw = out.gateway
    parts = [
        {"configMap": {"name": gateway_config_part(gw.name, n), "optional": True}}
        for n in range(MAX_PARTS)
    ]
    volumes: list[dict[str, Any]] = [
        # One projected volume: the kubelet swaps the index and its parts together.
        {"name": "config", "projected": {"sources": [{"configMap": {"name": name}}, *parts]}},
        # Issued by the identity controller; optional so the gateway starts before it exists
        # (edge listeners work without it; mesh upstreams need it).
        {
            "name": "identity",
            "secret": {"secretName": gateway_identity_secret(gw.name), "optional": True},
        },
        # Generated from the edge policies; optional and always mounted, so adding the first
        # API key policy does not roll the proxies (kubelet fills the volume when it appears).
        {
            "name": "edge",
            "secret": {"secretName": gateway_edge_secret(gw.name), "optional": True},
        },
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        {"name": "identity", "mountPath": IDENTITY_DIR, "readOnly": True},
        {"name": "edge", "mountPath": EDGE_SECRET_DIR, "readOnly": True},
    ]
    for i, secret in enumerate(out.tls_secrets):
        volumes.append({"name": f"cert-{i}", "secret": {"secretName": secret}})
        mounts.append(
            {"name": f"cert-{i}", "mountPath": listener_cert_dir(secret), "readOnly": True}
        )
    ports = [{"name": port_name(n, p), "containerPort": p, "protocol": "TCP"} for n, p in out.ports]
    # Named "admin" for the ServiceMonitor; it serves /live, /ready and /metrics only.
    ports.append({"name": "admin", "containerPort": STATS_PORT, "protocol": "TCP"})
    container = {
        "name": "meshproxy",
        "image": settings.proxy_image,
        "imagePullPolicy": settings.image_pull_policy,
        "args": [
            *("--config", CONFIG_FILE),
            *("--stats-port", str(STATS_PORT)),
            *("--log-level", settings.proxy_log_level),
        ],
        "ports": ports,
        "env": config_server_env(settings, gw.namespace, gw.name),
        "readinessProbe": {
            "httpGet": {"path": "/ready", "port": STATS_PORT},
            "periodSeconds": 5,
            "failureThreshold": 2,
        },
        "livenessProbe": {
            "tcpSocket": {"port": STATS_PORT},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "resources": _resources(out, settings),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": PROXY_UID,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }
    selector = {GATEWAY_LABEL: gw.name}
    pod_security: dict[str, Any] = {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if any(p < PRIVILEGED_PORTS for _, p in out.ports):
        # The proxy runs unprivileged and without capabilities; a listener on 80 or 443 (usual
        # for Gateway API Gateways) needs the Pod's own network namespace to allow it (a
        # namespaced sysctl Kubernetes counts as safe since 1.22).
        pod_security["sysctls"] = [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, gw.namespace, object_labels, owners),
        "spec": {
            "replicas": out.replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": object_labels},
                "spec": {
                    # The proxy never talks to the Kubernetes API.
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security,
                    "terminationGracePeriodSeconds": 30,
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def _service(
    out: GatewayOutput, name: str, object_labels: dict[str, str], owners: list[dict[str, Any]]
) -> KubeObject:
    gw = out.gateway
    metadata = _meta(name, gw.namespace, object_labels, owners)
    if out.service_annotations:
        metadata["annotations"] = dict(out.service_annotations)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "type": out.service_type,
            "selector": {GATEWAY_LABEL: gw.name},
            "ports": [
                {"name": port_name(n, p), "port": p, "targetPort": p, "protocol": "TCP"}
                for n, p in out.ports
            ],
        },
    }


def _pdb(
    out: GatewayOutput, name: str, object_labels: dict[str, str], owners: list[dict[str, Any]]
) -> KubeObject:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(name, out.gateway.namespace, object_labels, owners),
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {GATEWAY_LABEL: out.gateway.name}}},
    }
