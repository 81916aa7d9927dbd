"""The names, ports and keys injection writes into Pods: one place, shared by inject and uninject.

`uninject` recognises what `inject` added only by these names, so a value here changes both at
once. This module must never hold logic or import anything beyond the standard library and
`meshgate.ownership` (the marks other controllers read too).
"""

from __future__ import annotations

from typing import Final

from meshgate import ownership

GROUP: Final = "meshgate.io"

# Opt-in and opt-out keys. The namespace label turns injection on for every Pod in it; the Pod
# annotation turns it on or off for one Pod.
INJECT_KEY: Final = ownership.INJECT_LABEL
NAMESPACE_ENABLED: Final = ownership.INJECT_ENABLED
CAPTURE_KEY: Final = f"{GROUP}/capture"
CAPTURE_IPTABLES: Final = "iptables"
CAPTURE_PORTS_KEY: Final = f"{GROUP}/capture-ports"
PROXY_CPU_KEY: Final = f"{GROUP}/proxy-cpu"
PROXY_MEMORY_KEY: Final = f"{GROUP}/proxy-memory"

# A meshgate gateway's proxy Pod (the operator labels its Deployment's Pods): already a proxy and
# a mesh client of its own, so never given a sidecar, whatever its namespace says.
GATEWAY_LABEL: Final = ownership.GATEWAY_LABEL

# What an injected Pod carries, so tools (and the next admission call) can tell.
INJECTED_LABEL: Final = ownership.INJECTED_LABEL
INJECTED_VERSION_ANNOTATION: Final = f"{GROUP}/injected-version"

PROXY_CONTAINER: Final = "meshgate-proxy"
CAPTURE_CONTAINER: Final = "meshgate-capture"
OUR_CONTAINERS: Final = frozenset({PROXY_CONTAINER, CAPTURE_CONTAINER})
VOLUME_PREFIX: Final = "meshgate-"
CONFIG_VOLUME: Final = "meshgate-config"
IDENTITY_VOLUME: Final = "meshgate-identity"
PODINFO_VOLUME: Final = "meshgate-podinfo"
OUR_VOLUMES: Final = frozenset({CONFIG_VOLUME, IDENTITY_VOLUME, PODINFO_VOLUME})

MESH_CONFIGMAP: Final = "meshgate-mesh"
# A sidecar config too large for one ConfigMap is gzip'ed into parts `meshgate-mesh-config-<n>`
# (`meshproxy.configparts`), which the sidecar mounts beside the index in `meshgate-mesh`.
MESH_CONFIG_PART_PREFIX: Final = f"{MESH_CONFIGMAP}-config-"
IDENTITY_SECRET_PREFIX: Final = "meshgate-identity-"  # noqa: S105 (a name, not a secret)
CONFIG_DIR: Final = "/etc/meshgate"
CONFIG_FILE: Final = f"{CONFIG_DIR}/config.json"
IDENTITY_DIR: Final = f"{CONFIG_DIR}/identity"
PODINFO_DIR: Final = f"{CONFIG_DIR}/podinfo"

OUTBOUND_PORT: Final = 15001
INBOUND_PORT: Final = 15006
# /live, /ready and /metrics on the Pod's address, for the kubelet and Prometheus (Istio's 15090).
STATS_PORT: Final = 15090
# Every admin endpoint, /config included, on loopback only; the CLI reaches it via the API server.
ADMIN_PORT: Final = 15000
PROXY_UID: Final = 1337

# Native sidecars (init containers with restartPolicy: Always) are on by default from 1.29.
NATIVE_SIDECAR_MINOR: Final = 29

# Namespaces whose Pods are never injected: the control plane's own.
SYSTEM_NAMESPACES: Final = frozenset({"kube-system", "kube-public", "kube-node-lease"})

PSS_ENFORCE_LABEL: Final = "pod-security.kubernetes.io/enforce"
