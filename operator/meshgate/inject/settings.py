"""`InjectSettings`: everything the sidecar patch needs to know that is not in the Pod itself.

Comes from the operator's configuration (Helm values) or the offline CLI's flags. Pure data: this
module must never read the environment or the cluster; callers build the settings and pass them.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import names


@dataclass(frozen=True)
class ProxyResources:
    """The proxy container's default resources; Pod annotations may override cpu and memory."""

    cpu_request: str = "50m"
    memory_request: str = "64Mi"
    memory_limit: str = "256Mi"


@dataclass(frozen=True)
class InjectSettings:
    proxy_image: str = "ghcr.io/meshgate/meshproxy:0.1.0"
    # The capture init container runs iptables; by default the proxy image, which must ship it.
    capture_image: str | None = None
    injected_version: str = "0.1.0"
    # Kubernetes minor version of the cluster (1.<minor>): picks native sidecar or plain container.
    kube_minor: int = 34
    operator_namespace: str = "meshgate-system"
    trust_domain: str = "cluster.local"
    resources: ProxyResources = ProxyResources()
    image_pull_policy: str = "IfNotPresent"
    # The chart's proxy.logLevel: `meshproxy --log-level`.
    proxy_log_level: str = "info"
    # The operator's config server (`host:port`) and its SPIFFE ID; empty: the sidecar follows its
    # mounted config file only.
    config_server: str = ""
    config_server_id: str = ""

    @property
    def native_sidecar(self) -> bool:
        return self.kube_minor >= names.NATIVE_SIDECAR_MINOR

    @property
    def capture_image_or_proxy(self) -> str:
        return self.capture_image or self.proxy_image
