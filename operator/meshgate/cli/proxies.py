"""Which Pods run a meshgate proxy, and which config each should run. Pure.

A gateway proxy Pod carries `meshgate.io/gateway=<name>` and reads ConfigMap
`meshgate-gw-<name>`; an injected Pod carries `meshgate.io/injected` and reads its namespace's
`meshgate-mesh`. The operator stamps each ConfigMap with the config's content hash
(`meshgate.io/config-version`); a proxy reports the hash it runs (`meshproxy_config_info`), so
"in step" is a string comparison.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshgate.compile.paths import MESH_CONFIG_MAP, gateway_config_map
from meshgate.inject.names import INJECTED_LABEL, INJECTED_VERSION_ANNOTATION, PROXY_CONTAINER
from meshgate.render.objects import GATEWAY_LABEL, VERSION_ANNOTATION

GATEWAY_CONTAINER = "meshproxy"


@dataclass(frozen=True)
class Proxy:
    namespace: str
    pod: str
    role: str  # "gateway" or "sidecar"
    owner: str  # the Gateway's name, or the workload (app label) for a sidecar
    config_map: str
    desired_version: str  # "" when the ConfigMap does not exist (yet)
    image: str
    pod_ip: str
    phase: str
    injected_version: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.pod}"


def proxies(
    pods: Iterable[Mapping[str, Any]], config_maps: Iterable[Mapping[str, Any]]
) -> list[Proxy]:
    versions = {
        (str(_meta(cm).get("namespace")), str(_meta(cm).get("name"))): str(
            (_meta(cm).get("annotations") or {}).get(VERSION_ANNOTATION) or ""
        )
        for cm in config_maps
    }
    out = []
    for pod in pods:
        meta = _meta(pod)
        labels = meta.get("labels") or {}
        ns = str(meta.get("namespace") or "")
        if labels.get(GATEWAY_LABEL):
            role, owner = "gateway", str(labels[GATEWAY_LABEL])
            cm, container = gateway_config_map(owner), GATEWAY_CONTAINER
        elif labels.get(INJECTED_LABEL):
            role, owner = "sidecar", workload_of(meta)
            cm, container = MESH_CONFIG_MAP, PROXY_CONTAINER
        else:
            continue
        spec = pod.get("spec") or {}
        status = pod.get("status") or {}
        image = next(
            (
                str(c.get("image") or "")
                for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
                if c.get("name") == container
            ),
            "",
        )
        out.append(
            Proxy(
                namespace=ns,
                pod=str(meta.get("name") or ""),
                role=role,
                owner=owner,
                config_map=cm,
                desired_version=versions.get((ns, cm), ""),
                image=image,
                pod_ip=str(status.get("podIP") or ""),
                phase=str(status.get("phase") or ""),
                injected_version=str(
                    (meta.get("annotations") or {}).get(INJECTED_VERSION_ANNOTATION) or ""
                ),
            )
        )
    return sorted(out, key=lambda p: (p.namespace, p.role, p.pod))


def workload_of(meta: Mapping[str, Any]) -> str:
    """The workload a Pod belongs to: its `app` label, else its owner's name without the hash."""
    labels = meta.get("labels") or {}
    for key in ("app.kubernetes.io/name", "app"):
        if labels.get(key):
            return str(labels[key])
    owners = meta.get("ownerReferences") or []
    if owners:
        name = str(owners[0].get("name") or "")
        kind = owners[0].get("kind")
        return name.rsplit("-", 1)[0] if kind == "ReplicaSet" and "-" in name else name
    return str(meta.get("name") or "")


def sync_state(desired: str, running: str | None) -> str:
    """SYNCED, STALE (runs another version), NOT SENT (no config yet) or UNREACHABLE."""
    if running is None:
        return "UNREACHABLE"
    if not desired:
        return "NOT SENT"
    return "SYNCED" if running == desired else "STALE"


def config_version(metrics_text: str) -> str | None:
    """The `version` label of `meshproxy_config_info`, from a proxy's /metrics; None without."""
    for line in metrics_text.splitlines():
        if line.startswith("meshproxy_config_info{"):
            labels = parse_labels(line[line.index("{") + 1 : line.rindex("}")])
            return labels.get("version")
    return None


def parse_labels(text: str) -> dict[str, str]:
    """Prometheus label pairs `a="x",b="y \\"q\\""` as a dict."""
    out: dict[str, str] = {}
    i = 0
    while i < len(text):
        eq = text.index("=", i)
        key = text[i:eq].strip().lstrip(",").strip()
        j = eq + 2  # past ="
        value = []
        while text[j] != '"':
            if text[j] == "\\" and j + 1 < len(text):
                j += 1
                value.append({"n": "\n"}.get(text[j], text[j]))
            else:
                value.append(text[j])
            j += 1
        out[key] = "".join(value)
        i = j + 1
    return out


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def by_pod(items: Sequence[Proxy], namespace: str, pod: str) -> Proxy | None:
    return next((p for p in items if p.namespace == namespace and p.pod == pod), None)
