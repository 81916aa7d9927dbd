"""Operator configuration, read once from the environment (the Helm chart sets these variables).

Pure parsing: `Settings.from_env(environ)` takes the mapping, so tests pass a dict and nothing here
reads the process environment on import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    # Namespaces to watch; empty means the whole cluster.
    namespaces: tuple[str, ...] = ()
    operator_namespace: str = "meshgate-system"
    trust_domain: str = "cluster.local"
    cluster_domain: str = "cluster.local"
    proxy_image: str = "ghcr.io/meshgate/meshproxy:0.1.0"
    image_pull_policy: str = "IfNotPresent"
    proxy_cpu_request: str = "100m"
    proxy_memory_request: str = "64Mi"
    proxy_memory_limit: str = "256Mi"
    # Bursts of events within this window become one reconcile.
    debounce_seconds: float = 0.15
    # A full reconcile at least this often, whatever the events, to repair drift.
    resync_seconds: float = 45.0
    metrics_port: int = 9090
    # Active/standby between replicas through kopf peering (needs kopf's peering CRDs).
    peering: bool = False
    peering_name: str = "meshgate"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        d = cls()

        def get(name: str, default: str) -> str:
            return env.get(f"MESHGATE_{name}", default) or default

        namespaces = tuple(
            sorted(n.strip() for n in get("WATCH_NAMESPACES", "").split(",") if n.strip())
        )
        return cls(
            namespaces=namespaces,
            operator_namespace=get("OPERATOR_NAMESPACE", d.operator_namespace),
            trust_domain=get("TRUST_DOMAIN", d.trust_domain),
            cluster_domain=get("CLUSTER_DOMAIN", d.cluster_domain),
            proxy_image=get("PROXY_IMAGE", d.proxy_image),
            image_pull_policy=get("IMAGE_PULL_POLICY", d.image_pull_policy),
            proxy_cpu_request=get("PROXY_CPU_REQUEST", d.proxy_cpu_request),
            proxy_memory_request=get("PROXY_MEMORY_REQUEST", d.proxy_memory_request),
            proxy_memory_limit=get("PROXY_MEMORY_LIMIT", d.proxy_memory_limit),
            debounce_seconds=float(get("DEBOUNCE_SECONDS", str(d.debounce_seconds))),
            resync_seconds=float(get("RESYNC_SECONDS", str(d.resync_seconds))),
            metrics_port=int(get("METRICS_PORT", str(d.metrics_port))),
            peering=get("PEERING", "false").lower() in ("1", "true", "yes"),
            peering_name=get("PEERING_NAME", d.peering_name),
        )
