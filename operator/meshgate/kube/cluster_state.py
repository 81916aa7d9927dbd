"""Read what one reconcile needs from the `Store`: the compiler's snapshot, the generated objects
that exist, and the stored status of every meshgate object.

Parsing a custom object through its pydantic model is the costly part of building a snapshot, so
each parsed object is kept in a `ParseCache` and reused until the object's resourceVersion moves.
The snapshot is built by `meshgate.compile.ingest.build_snapshot`, the one builder
`snapshot_from_bodies` uses too. Never performs I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from meshgate.compile import MeshSettings, Snapshot
from meshgate.compile.ingest import CUSTOM_KINDS, ParseCache, build_snapshot
from meshgate.compile.snapshot import GatewayRuntime
from meshgate.gatewayapi import Adapted, GatewayApiObjects, adapt
from meshgate.gatewayapi.objects import (
    BUNDLE_ANNOTATION,
    gateway_class_of,
    gateway_of,
    grpc_route_of,
    http_route_of,
    reference_grant_of,
    store_kind,
    tls_route_of,
)
from meshgate.ownership import GATEWAY_LABEL, MANAGED_BY_KEY, MANAGER
from meshgate.settings import Settings

from .rest import CONFIG_MAP, CRD, DEPLOYMENT, PDB, SERVICE
from .store import Store

__all__ = ["SNAPSHOT_FIELDS", "ClusterState", "ParseCache", "read_state", "wanted_output"]

Key = tuple[str, str, str]

# meshgate kind -> the Snapshot field holding it
SNAPSHOT_FIELDS = {kind: name for kind, (name, _) in CUSTOM_KINDS.items()}

OUTPUT_KINDS = (CONFIG_MAP.kind, DEPLOYMENT.kind, SERVICE.kind, PDB.kind)
GENERATED_NAMES = ("meshgate-gateway", "meshgate-mesh")  # what the listing's selector selects


@dataclass(frozen=True)
class ClusterState:
    snapshot: Snapshot
    # (kind, namespace, name) -> live object, for every generated object that exists
    outputs: dict[Key, dict[str, Any]]
    # meshgate kind -> the stored bodies, for `statuses` and `uids`
    custom_bodies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # The Gateway API objects meshgate serves, adapted (their meshgate models are in `snapshot`)
    adapted: Adapted = field(default_factory=Adapted)
    # (store kind, namespace, name) -> stored status of every Gateway API object
    gateway_api_statuses: dict[Key, dict[str, Any]] = field(default_factory=dict)

    # Made on first use: the status lane reads the store itself, and visiting every meshgate
    # object per change for tables nobody reads cost a one-Route change O(every object).
    @cached_property
    def statuses(self) -> dict[Key, dict[str, Any]]:
        """(kind, namespace, name) -> stored status of every meshgate object."""
        return {
            _key(kind, b): b.get("status") or {}
            for kind, bodies in self.custom_bodies.items()
            for b in bodies
        }

    @cached_property
    def uids(self) -> dict[Key, str]:
        """(kind, namespace, name) -> uid, for the events' `regarding`."""
        return {
            _key(kind, b): (b.get("metadata") or {}).get("uid", "")
            for kind, bodies in self.custom_bodies.items()
            for b in bodies
        }


def _key(kind: str, body: dict[str, Any]) -> Key:
    meta = body.get("metadata") or {}
    return (kind, meta.get("namespace", ""), meta.get("name", ""))


def read_state(store: Store, settings: Settings, cache: ParseCache | None = None) -> ClusterState:
    cache = cache or ParseCache()
    cache.begin()
    listed: dict[str, list[dict[str, Any]]] = {}

    def bodies(kind: str) -> list[dict[str, Any]]:
        if kind not in listed:
            listed[kind] = store.items(kind)
        return listed[kind]

    outputs: dict[Key, dict[str, Any]] = {}
    for kind in OUTPUT_KINDS:
        for obj in store.items(kind):
            if wanted_output(obj):
                meta = obj.get("metadata") or {}
                outputs[(kind, meta.get("namespace", ""), meta.get("name", ""))] = obj
    snapshot = build_snapshot(
        MeshSettings(
            operator_namespace=settings.operator_namespace,
            trust_domain=settings.trust_domain,
            cluster_domain=settings.cluster_domain,
            default_redis_url=settings.ratelimit_redis_url,
        ),
        bodies,
        cache,
        _runtime(outputs),
    )
    adapted = Adapted()
    gateway_api_statuses: dict[Key, dict[str, Any]] = {}
    if settings.gateway_api:
        objects, gateway_api_statuses = _gateway_api_objects(store, cache)
        adapted = adapt(objects, snapshot, replicas=settings.gateway_api_replicas)
        snapshot = adapted.extend(snapshot)
    cache.end()
    return ClusterState(
        snapshot=snapshot,
        outputs=outputs,
        custom_bodies={kind: bodies(kind) for kind in CUSTOM_KINDS},
        adapted=adapted,
        gateway_api_statuses=gateway_api_statuses,
    )


def _gateway_api_objects(
    store: Store, cache: ParseCache
) -> tuple[GatewayApiObjects, dict[Key, dict[str, Any]]]:
    """The stored Gateway API objects, parsed (and cached by resourceVersion), and their status."""
    crd = next(iter(store.items(CRD.kind)), {})
    bundle = str(((crd.get("metadata") or {}).get("annotations") or {}).get(BUNDLE_ANNOTATION, ""))
    statuses: dict[Key, dict[str, Any]] = {}

    def parsed(kind: str, parse: Callable[[Any], Any]) -> tuple[Any, ...]:
        stored = store_kind(kind)
        bodies = store.items(stored)
        for b in bodies:
            meta = b.get("metadata") or {}
            statuses[(stored, meta.get("namespace", "") or "", meta.get("name", ""))] = (
                b.get("status") or {}
            )
        items = [cache.get(stored, b, parse) for b in bodies]
        return tuple(sorted(items, key=lambda o: (o.meta.namespace, o.meta.name)))

    objects = GatewayApiObjects(
        classes=parsed("GatewayClass", lambda b: gateway_class_of(b, bundle)),
        gateways=parsed("Gateway", gateway_of),
        routes=parsed("HTTPRoute", http_route_of),
        grants=parsed("ReferenceGrant", reference_grant_of),
        grpc_routes=parsed("GRPCRoute", grpc_route_of),
        tls_routes=parsed("TLSRoute", tls_route_of),
    )
    return objects, statuses


def wanted_output(obj: dict[str, Any]) -> bool:
    """A generated object a reconcile owns (the listing selects the same by label)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return (
        labels.get(MANAGED_BY_KEY) == MANAGER
        and labels.get("app.kubernetes.io/name") in GENERATED_NAMES
    )


def _runtime(outputs: dict[Key, dict[str, Any]]) -> dict[str, GatewayRuntime]:
    """Ready proxies and Service addresses per Gateway, from the generated objects' status."""
    out: dict[str, GatewayRuntime] = {}
    for (kind, ns, _name), obj in sorted(outputs.items()):
        gw = ((obj.get("metadata") or {}).get("labels") or {}).get(GATEWAY_LABEL)
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
