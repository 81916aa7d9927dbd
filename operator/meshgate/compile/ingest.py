"""Turn raw API bodies into a `Snapshot`: parse each meshgate object through its pydantic model.

A body that fails validation becomes a `Resource` with `spec=None` and the validation message in
`error`, so the compiler can report it in that object's status and carry on with the rest. This
module is pure: it never lists, watches or writes anything.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from operator import is_not
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from meshgate.api.v1alpha1.authorization_policy import AuthorizationPolicySpec
from meshgate.api.v1alpha1.destination_rule import DestinationRuleSpec
from meshgate.api.v1alpha1.edge_authentication import EdgeAuthenticationSpec
from meshgate.api.v1alpha1.gateway import GatewaySpec
from meshgate.api.v1alpha1.peer_authentication import PeerAuthenticationSpec
from meshgate.api.v1alpha1.rate_limit_policy import RateLimitPolicySpec
from meshgate.api.v1alpha1.retry_policy import RetryPolicySpec
from meshgate.api.v1alpha1.route import RouteSpec

from .bodies import (
    EndpointSliceBody,
    MetadataBody,
    NamespaceBody,
    ObjectBody,
    PodBody,
    SecretBody,
    ServiceBody,
)
from .same import same
from .snapshot import (
    Endpoint,
    EndpointPort,
    EndpointSlice,
    GatewayRuntime,
    MeshSettings,
    Meta,
    Namespace,
    Pod,
    Resource,
    Secret,
    Service,
    ServicePort,
    Snapshot,
)

SpecT = TypeVar("SpecT", bound=BaseModel)

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def meta_of(body: MetadataBody | None) -> Meta:
    body = body or {}
    return Meta(
        namespace=body.get("namespace", "") or "",
        name=body.get("name", "") or "",
        uid=body.get("uid", "") or "",
        generation=int(body.get("generation", 0) or 0),
        creation_timestamp=body.get("creationTimestamp", "") or "",
        labels=MappingProxyType(dict(body.get("labels") or {})),
        annotations=MappingProxyType(
            {
                k: str(v)
                for k, v in (body.get("annotations") or {}).items()
                if k.startswith("meshgate.io/")
            }
        ),
    )


def parse_resource(kind: str, model: type[SpecT], body: ObjectBody) -> Resource[SpecT]:
    meta = meta_of(body.get("metadata"))
    try:
        spec = model.model_validate(body.get("spec") or {})
    except ValidationError as exc:
        return Resource(kind=kind, meta=meta, spec=None, error=explain(exc))
    return Resource(kind=kind, meta=meta, spec=spec)


def explain(exc: ValidationError) -> str:
    """A short, field-addressed message that fits in a condition."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "spec"
        parts.append(f"spec.{where}: {err['msg']}")
    if exc.error_count() > 5:
        parts.append(f"and {exc.error_count() - 5} more")
    return "; ".join(parts)


def service_of(body: ServiceBody) -> Service:
    spec = body.get("spec") or {}
    ports = []
    for p in spec.get("ports") or []:
        port = int(p.get("port", 0) or 0)
        if not port or (p.get("protocol") or "TCP") != "TCP":
            continue
        target = p.get("targetPort", port)
        ports.append(
            ServicePort(
                name=p.get("name", "") or "",
                port=port,
                target_port=int(target) if isinstance(target, int) else str(target),
                app_protocol=p.get("appProtocol", "") or "",
            )
        )
    return Service(
        meta=meta_of(body.get("metadata")),
        ports=tuple(sorted(ports, key=lambda sp: sp.port)),
        selector=MappingProxyType(dict(spec.get("selector") or {})),
        cluster_ip=_cluster_ip(spec.get("clusterIP")),
    )


def _cluster_ip(value: str | None) -> str | None:
    return value if value and value != "None" else None  # "None": a headless Service


def endpoint_slice_of(body: EndpointSliceBody) -> EndpointSlice:
    meta = meta_of(body.get("metadata"))
    endpoints = []
    for ep in body.get("endpoints") or []:
        addresses = ep.get("addresses") or []
        if not addresses:
            continue
        # A nil `ready` means ready (API contract); terminating endpoints are not ready.
        ready = (ep.get("conditions") or {}).get("ready")
        ref = ep.get("targetRef") or {}
        endpoints.append(
            Endpoint(
                address=addresses[0],
                ready=ready is not False,
                pod=ref.get("name") if ref.get("kind") == "Pod" else None,
            )
        )
    ports = tuple(
        EndpointPort(name=p.get("name", "") or "", port=int(p.get("port", 0) or 0))
        for p in body.get("ports") or []
        if p.get("port") and (p.get("protocol") or "TCP") == "TCP"
    )
    return EndpointSlice(
        meta=meta,
        service=meta.labels.get(SERVICE_NAME_LABEL, ""),
        ports=ports,
        endpoints=tuple(endpoints),
    )


def pod_of(body: PodBody) -> Pod:
    return Pod(meta=meta_of(body.get("metadata")))


# What the operator's store keeps of a `tls.crt` or `tls.key` value that holds a PEM block: the
# store never keeps Secret values, only this mark.
PEM_MARK = "pem"
TLS_KEYS = ("tls.crt", "tls.key")


def looks_pem(value: str) -> bool:
    """A base64 Secret value (or the store's mark) that decodes to a PEM block."""
    if value == PEM_MARK:
        return True
    try:
        return b"-----BEGIN " in base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False


def secret_of(body: SecretBody) -> Secret:
    data = body.get("data") or {}
    return Secret(
        meta=meta_of(body.get("metadata")),
        type=body.get("type", "Opaque") or "Opaque",
        keys=frozenset(data.keys()),
        valid_tls=all(looks_pem(str(data.get(k) or "")) for k in TLS_KEYS),
    )


def namespace_of(body: NamespaceBody) -> Namespace:
    meta = meta_of(body.get("metadata"))
    return Namespace(name=meta.name, labels=meta.labels)


# meshgate kind -> (Snapshot field, spec model)
CUSTOM_KINDS: dict[str, tuple[str, type[BaseModel]]] = {
    "Gateway": ("gateways", GatewaySpec),
    "Route": ("routes", RouteSpec),
    "DestinationRule": ("destination_rules", DestinationRuleSpec),
    "RetryPolicy": ("retry_policies", RetryPolicySpec),
    "PeerAuthentication": ("peer_authentications", PeerAuthenticationSpec),
    "AuthorizationPolicy": ("authorization_policies", AuthorizationPolicySpec),
    "EdgeAuthentication": ("edge_authentications", EdgeAuthenticationSpec),
    "RateLimitPolicy": ("rate_limit_policies", RateLimitPolicySpec),
}
# Kubernetes kind -> (Snapshot field, converter)
CORE_KINDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "Service": ("services", service_of),
    "EndpointSlice": ("endpoint_slices", endpoint_slice_of),
    "Pod": ("pods", pod_of),
    "Secret": ("secrets", secret_of),
    "Namespace": ("namespaces", namespace_of),
}

Key = tuple[str, str, str]


@dataclass(frozen=True)
class _KindRead:
    bodies: list[Any]  # as read, in the store's order
    keys: list[Key]  # of each body
    out: tuple[Any, ...]  # parsed, sorted
    pos: list[int]  # where each body's object sits in `out`


@dataclass
class ParseCache:
    """Parsed objects by (kind, namespace, name), valid while the resourceVersion is the same.

    A body without a resourceVersion is parsed every time. The parsed object is handed back
    itself while it is valid, so an unchanged object is the very same object in consecutive
    snapshots (which is what lets `meshgate.compile.Compiler` find changes by identity). A body
    parsed again that gives what was kept (`same`) hands back the kept object too: the operator's
    own status write moves a Route's resourceVersion and nothing that is parsed, and a new but
    equal object would cost every later compile an equality check of its whole spec wherever
    identity used to answer (999 of 1,000 translations re-checked per Route change).
    """

    _entries: dict[Key, tuple[str, Any]] = field(default_factory=dict)
    _seen: set[Key] = field(default_factory=set)
    parsed: int = 0  # parses done since `begin`, for tests and logs
    # kind -> the last read of it: a read that finds the very same bodies in the same places,
    # but for a few replaced in place, parses those few and hands back the same sorted tuple
    # patched, without visiting and sorting every object (at 1,000 Routes that was most of
    # reading the store per change).
    _kinds: dict[str, _KindRead] = field(default_factory=dict)

    def sorted_of(
        self,
        kind: str,
        bodies: Iterable[Mapping[str, Any]],
        parse: Callable[[Any], Any],
        order: Callable[[Any], Any],
    ) -> tuple[Any, ...]:
        """Every body of a kind parsed (`get`), sorted by `order`."""
        listed = list(bodies)
        kept = self._kinds.get(kind)
        if kept is not None and len(kept.bodies) == len(listed):
            out = self._patched(kind, kept, listed, parse)
            if out is not None:
                return out
        seen = len(self._seen)
        items = [self.get(kind, b, parse) for b in listed]
        ranked = sorted(range(len(items)), key=lambda n: order(items[n]))
        out = tuple(items[n] for n in ranked)
        if len(self._seen) - seen == len(listed):  # one key each (a body named twice: no memo)
            pos = [0] * len(ranked)
            for at, n in enumerate(ranked):
                pos[n] = at
            self._kinds[kind] = _KindRead(listed, [_key_of(kind, b) for b in listed], out, pos)
        else:
            self._kinds.pop(kind, None)
        return out

    def _patched(
        self, kind: str, kept: _KindRead, listed: list[Any], parse: Callable[[Any], Any]
    ) -> tuple[Any, ...] | None:
        """The kept read with the bodies replaced in place (same keys, same places) parsed
        again; None when anything else moved. The very same tuple when nothing parsed moved."""
        moved = [n for n, other in enumerate(map(is_not, kept.bodies, listed)) if other]
        if any(_key_of(kind, listed[n]) != kept.keys[n] for n in moved):
            return None
        self._seen.update(kept.keys)
        out = kept.out
        if moved:
            items = list(out)
            for n in moved:
                items[kept.pos[n]] = self.get(kind, listed[n], parse)
            if any(a is not b for a, b in zip(items, out, strict=True)):
                out = tuple(items)
            self._kinds[kind] = _KindRead(listed, kept.keys, out, kept.pos)
        return out

    def get(self, kind: str, body: Mapping[str, Any], parse: Callable[[Any], Any]) -> Any:
        meta = body.get("metadata") or {}
        key = _key_of(kind, body)
        version = str(meta.get("resourceVersion") or "")
        hit = self._entries.get(key)
        if hit is not None and version and hit[0] == version:
            self._seen.add(key)
            return hit[1]
        value = parse(body)
        self.parsed += 1
        if hit is not None and same(hit[1], value):
            value = hit[1]
        self._entries[key] = (version, value)
        self._seen.add(key)
        return value

    def begin(self) -> None:
        self._seen = set()
        self.parsed = 0

    def end(self) -> None:
        """Forget what this read did not see: deleted objects must not be kept alive."""
        if self._entries.keys() <= self._seen:
            return  # every entry was seen: no Python loop over them all
        for key in [k for k in self._entries if k not in self._seen]:
            del self._entries[key]


def build_snapshot(
    settings: MeshSettings,
    bodies: Callable[[str], Iterable[Mapping[str, Any]]],
    cache: ParseCache,
    gateway_runtime: Mapping[str, GatewayRuntime] | None = None,
) -> Snapshot:
    """The one way a snapshot is built: `bodies(kind)` gives the bodies of each meshgate and
    Kubernetes kind (unknown kinds: none), each parsed through `cache`.

    Everything is sorted by namespace/name so the same cluster gives the same snapshot whatever
    order the API server or a watch cache returned it in.
    """
    fields: dict[str, Any] = {}
    for kind, (name, model) in CUSTOM_KINDS.items():

        def parse(b: Any, kind: str = kind, model: type[BaseModel] = model) -> Any:
            return parse_resource(kind, model, b)

        fields[name] = cache.sorted_of(kind, bodies(kind), parse, _by_key)
    for kind, (name, convert) in CORE_KINDS.items():
        order = _by_name if kind == "Namespace" else _by_key
        fields[name] = cache.sorted_of(kind, bodies(kind), convert, order)
    return Snapshot(settings=settings, gateway_runtime=dict(gateway_runtime or {}), **fields)


def _key_of(kind: str, body: Mapping[str, Any]) -> Key:
    meta = body.get("metadata") or {}
    return (kind, meta.get("namespace", "") or "", meta.get("name", "") or "")


def _by_key(o: Any) -> tuple[str, str]:
    return (o.meta.namespace, o.meta.name)


def _by_name(o: Any) -> str:
    return str(o.name)


def snapshot_from_bodies(
    *,
    settings: MeshSettings,
    custom: Mapping[str, Iterable[ObjectBody]],
    services: Iterable[ServiceBody] = (),
    endpoint_slices: Iterable[EndpointSliceBody] = (),
    pods: Iterable[PodBody] = (),
    secrets: Iterable[SecretBody] = (),
    namespaces: Iterable[NamespaceBody] = (),
    gateway_runtime: Mapping[str, GatewayRuntime] | None = None,
) -> Snapshot:
    """Build a snapshot from bodies at hand. `custom` maps a meshgate kind to its bodies;
    unknown kinds are ignored."""
    core: dict[str, Iterable[Any]] = {
        "Service": services,
        "EndpointSlice": endpoint_slices,
        "Pod": pods,
        "Secret": secrets,
        "Namespace": namespaces,
    }

    def bodies(kind: str) -> Iterable[Mapping[str, Any]]:
        return core.get(kind) or custom.get(kind) or ()

    return build_snapshot(settings, bodies, ParseCache(), gateway_runtime)
