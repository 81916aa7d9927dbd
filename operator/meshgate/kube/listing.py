"""List what one reconcile reads: the snapshot, the outputs that exist, the stored statuses.

Listing (not a watch cache) is the source of truth for each reconcile, so a reconcile never acts
on a half-filled cache after a restart. Secrets are listed by type `kubernetes.io/tls` only and
their values are dropped at once: the compiler sees key names, never key material.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from meshgate.compile import MeshSettings, Snapshot, snapshot_from_bodies
from meshgate.compile.bodies import (
    EndpointSliceBody,
    NamespaceBody,
    ObjectBody,
    PodBody,
    SecretBody,
    ServiceBody,
)
from meshgate.compile.snapshot import GatewayRuntime
from meshgate.settings import Settings

from .rest import (
    CONFIG_MAP,
    DEPLOYMENT,
    ENDPOINT_SLICE,
    MESHGATE_KINDS,
    NAMESPACE,
    PDB,
    POD,
    SECRET,
    SERVICE,
    Kind,
    Rest,
)

OUTPUT_SELECTOR = (
    "app.kubernetes.io/managed-by=meshgate,"
    "app.kubernetes.io/name in (meshgate-gateway,meshgate-mesh)"
)
OUTPUT_KINDS = (CONFIG_MAP, DEPLOYMENT, SERVICE, PDB)


@dataclass(frozen=True)
class ClusterState:
    snapshot: Snapshot
    # (kind, namespace, name) -> live object, for every generated object that exists
    outputs: dict[tuple[str, str, str], dict[str, Any]]
    # (kind, namespace, name) -> stored status of every meshgate object
    statuses: dict[tuple[str, str, str], dict[str, Any]]
    # (kind, namespace, name) -> (uid, resourceVersion-free identity) for events
    uids: dict[tuple[str, str, str], str]


def _each_namespace(rest: Rest, kind: Kind, settings: Settings, **kw: Any) -> list[dict[str, Any]]:
    if not settings.namespaces:
        return rest.list(kind, **kw)
    items: list[dict[str, Any]] = []
    for ns in settings.namespaces:
        items += rest.list(kind, ns, **kw)
    return items


def read_cluster(rest: Rest, settings: Settings) -> ClusterState:
    custom: dict[str, list[ObjectBody]] = {}
    statuses: dict[tuple[str, str, str], dict[str, Any]] = {}
    uids: dict[tuple[str, str, str], str] = {}
    for name, kind in MESHGATE_KINDS.items():
        bodies = _each_namespace(rest, kind, settings)
        custom[name] = cast(list[ObjectBody], bodies)
        for b in bodies:
            meta = b.get("metadata") or {}
            key = (name, meta.get("namespace", ""), meta.get("name", ""))
            statuses[key] = b.get("status") or {}
            uids[key] = meta.get("uid", "")
    secrets = []
    for s in _each_namespace(rest, SECRET, settings, fields="type=kubernetes.io/tls"):
        s["data"] = dict.fromkeys(s.get("data") or {}, "")
        secrets.append(s)
    outputs: dict[tuple[str, str, str], dict[str, Any]] = {}
    for kind in OUTPUT_KINDS:
        for obj in _each_namespace(rest, kind, settings, labels=OUTPUT_SELECTOR):
            meta = obj.get("metadata") or {}
            outputs[(kind.kind, meta.get("namespace", ""), meta.get("name", ""))] = obj
    snapshot = snapshot_from_bodies(
        settings=MeshSettings(
            operator_namespace=settings.operator_namespace,
            trust_domain=settings.trust_domain,
            cluster_domain=settings.cluster_domain,
        ),
        custom=custom,
        services=cast(list[ServiceBody], _each_namespace(rest, SERVICE, settings)),
        endpoint_slices=cast(
            list[EndpointSliceBody], _each_namespace(rest, ENDPOINT_SLICE, settings)
        ),
        pods=cast(list[PodBody], _each_namespace(rest, POD, settings, metadata_only=True)),
        secrets=cast(list[SecretBody], secrets),
        namespaces=cast(list[NamespaceBody], rest.list(NAMESPACE)),
        gateway_runtime=_runtime(outputs),
    )
    return ClusterState(snapshot=snapshot, outputs=outputs, statuses=statuses, uids=uids)


def _runtime(outputs: dict[tuple[str, str, str], dict[str, Any]]) -> dict[str, GatewayRuntime]:
    """Ready proxies and Service addresses per Gateway, from the generated objects' status."""
    out: dict[str, GatewayRuntime] = {}
    for (kind, ns, _name), obj in outputs.items():
        gw = ((obj.get("metadata") or {}).get("labels") or {}).get("meshgate.io/gateway")
        if not gw:
            continue
        key = f"{ns}/{gw}"
        current = out.get(key, GatewayRuntime())
        if kind == "Deployment":
            ready = int((obj.get("status") or {}).get("readyReplicas") or 0)
            out[key] = GatewayRuntime(ready_replicas=ready, addresses=current.addresses)
        elif kind == "Service":
            addresses = []
            for ing in ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
                if ing.get("ip"):
                    addresses.append(("IPAddress", ing["ip"]))
                elif ing.get("hostname"):
                    addresses.append(("Hostname", ing["hostname"]))
            cluster_ip = (obj.get("spec") or {}).get("clusterIP")
            if not addresses and cluster_ip and cluster_ip != "None":
                addresses.append(("IPAddress", cluster_ip))
            out[key] = GatewayRuntime(
                ready_replicas=current.ready_replicas, addresses=tuple(addresses)
            )
    return out
