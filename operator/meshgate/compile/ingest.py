"""Turn raw API bodies into a `Snapshot`: parse each meshgate object through its pydantic model.

A body that fails validation becomes a `Resource` with `spec=None` and the validation message in
`error`, so the compiler can report it in that object's status and carry on with the rest. This
module is pure: it never lists, watches or writes anything.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
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
            )
        )
    return Service(
        meta=meta_of(body.get("metadata")),
        ports=tuple(sorted(ports, key=lambda sp: sp.port)),
        selector=MappingProxyType(dict(spec.get("selector") or {})),
    )


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


def _sorted(items: Iterable[Any], key: Any) -> tuple[Any, ...]:
    return tuple(sorted(items, key=key))


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
    """Build a snapshot. `custom` maps a meshgate kind to its bodies; unknown kinds are ignored.

    Everything is sorted by namespace/name so the same cluster gives the same snapshot whatever
    order the API server or a watch cache returned it in.
    """

    def parsed(kind: str, model: type[SpecT]) -> tuple[Resource[SpecT], ...]:
        items = [parse_resource(kind, model, b) for b in custom.get(kind, ())]
        return _sorted(items, key=lambda r: (r.meta.namespace, r.meta.name))

    by_key = lambda o: (o.meta.namespace, o.meta.name)  # noqa: E731
    return Snapshot(
        settings=settings,
        gateways=parsed("Gateway", GatewaySpec),
        routes=parsed("Route", RouteSpec),
        destination_rules=parsed("DestinationRule", DestinationRuleSpec),
        retry_policies=parsed("RetryPolicy", RetryPolicySpec),
        peer_authentications=parsed("PeerAuthentication", PeerAuthenticationSpec),
        authorization_policies=parsed("AuthorizationPolicy", AuthorizationPolicySpec),
        edge_authentications=parsed("EdgeAuthentication", EdgeAuthenticationSpec),
        rate_limit_policies=parsed("RateLimitPolicy", RateLimitPolicySpec),
        services=_sorted((service_of(b) for b in services), by_key),
        endpoint_slices=_sorted((endpoint_slice_of(b) for b in endpoint_slices), by_key),
        pods=_sorted((pod_of(b) for b in pods), by_key),
        secrets=_sorted((secret_of(b) for b in secrets), by_key),
        namespaces=_sorted((namespace_of(b) for b in namespaces), lambda n: n.name),
        gateway_runtime=dict(gateway_runtime or {}),
    )
