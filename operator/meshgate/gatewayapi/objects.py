"""The standard Gateway API objects meshgate reads, parsed from their bodies into frozen data.

The API server has already checked every body against the v1.5.1 standard-channel CRD schemas
(defaults applied, CEL rules enforced), so parsing here only reads fields and never validates
them again. What a field means for meshgate is decided elsewhere in this package. Pure: never
lists, watches or writes anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from meshgate.compile.ingest import meta_of
from meshgate.compile.snapshot import Meta

GROUP = "gateway.networking.k8s.io"
CONTROLLER_NAME = "meshgate.io/gateway-controller"
# The bundle whose standard-channel CRDs meshgate serves (`bundle-version` annotation).
BUNDLE_VERSION = "v1.5.1"
BUNDLE_ANNOTATION = "gateway.networking.k8s.io/bundle-version"

# How the operator's store names these kinds: `Gateway` alone is meshgate.io's own kind.
STORE_KINDS = {
    "GatewayClass": f"GatewayClass.{GROUP}",
    "Gateway": f"Gateway.{GROUP}",
    "HTTPRoute": f"HTTPRoute.{GROUP}",
    "GRPCRoute": f"GRPCRoute.{GROUP}",
    "TLSRoute": f"TLSRoute.{GROUP}",
    "ReferenceGrant": f"ReferenceGrant.{GROUP}",
}


def store_kind(kind: str) -> str:
    """The store's name for a Gateway API kind (`Gateway.gateway.networking.k8s.io`)."""
    return STORE_KINDS[kind]


@dataclass(frozen=True)
class GatewayClass:
    meta: Meta
    controller_name: str
    crd_bundle_version: str = ""  # of the installed Gateway CRD, for SupportedVersion

    @property
    def ours(self) -> bool:
        return self.controller_name == CONTROLLER_NAME


@dataclass(frozen=True)
class ObjectRef:
    """A typed reference with an optional namespace (certificateRefs, backendRefs, parentRefs)."""

    group: str
    kind: str
    name: str
    namespace: str | None = None
    section_name: str | None = None
    port: int | None = None


@dataclass(frozen=True)
class LabelSelector:
    match_labels: Mapping[str, str] = field(default_factory=dict)
    # (key, operator, values)
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        for key, op, values in self.match_expressions:
            present = key in labels
            if op == "In" and (not present or labels[key] not in values):
                return False
            if op == "NotIn" and present and labels[key] in values:
                return False
            if op == "Exists" and not present:
                return False
            if op == "DoesNotExist" and present:
                return False
        return True


@dataclass(frozen=True)
class RouteKind:
    group: str
    kind: str


@dataclass(frozen=True)
class Listener:
    name: str
    port: int
    protocol: str
    hostname: str | None = None
    tls_mode: str | None = None
    certificate_refs: tuple[ObjectRef, ...] = ()
    namespaces_from: str = "Same"
    namespace_selector: LabelSelector | None = None
    kinds: tuple[RouteKind, ...] | None = None  # None: the protocol's default kinds


@dataclass(frozen=True)
class Gateway:
    meta: Meta
    class_name: str
    listeners: tuple[Listener, ...]
    addresses: tuple[tuple[str, str], ...] = ()  # spec.addresses (type, value)


@dataclass(frozen=True)
class HTTPRoute:
    meta: Meta
    parent_refs: tuple[ObjectRef, ...]
    hostnames: tuple[str, ...]
    rules: tuple[Mapping[str, Any], ...]  # raw rule bodies; `translate` reads them

    kind = "HTTPRoute"


@dataclass(frozen=True)
class GRPCRoute(HTTPRoute):
    """Attached to Gateways as an HTTPRoute is (`parents`); its rules are read by `grpcroute`."""

    kind = "GRPCRoute"


@dataclass(frozen=True)
class TLSRoute(HTTPRoute):
    """Attached to TLS passthrough listeners as an HTTPRoute is to HTTP ones (`parents`): its
    hostnames are SNI names and its rules hold only backendRefs, which `translate` reads."""

    kind = "TLSRoute"


@dataclass(frozen=True)
class GrantFrom:
    group: str
    kind: str
    namespace: str


@dataclass(frozen=True)
class GrantTo:
    group: str
    kind: str
    name: str | None = None


@dataclass(frozen=True)
class ReferenceGrant:
    meta: Meta
    from_: tuple[GrantFrom, ...]
    to: tuple[GrantTo, ...]


@dataclass(frozen=True)
class GatewayApiObjects:
    """Every Gateway API object the operator stores, sorted by namespace/name."""

    classes: tuple[GatewayClass, ...] = ()
    gateways: tuple[Gateway, ...] = ()
    routes: tuple[HTTPRoute, ...] = ()
    grants: tuple[ReferenceGrant, ...] = ()
    grpc_routes: tuple[GRPCRoute, ...] = ()
    tls_routes: tuple[TLSRoute, ...] = ()


def _ref(body: Mapping[str, Any], default_group: str, default_kind: str) -> ObjectRef:
    port = body.get("port")
    return ObjectRef(
        group=str(body.get("group", default_group) or ""),
        kind=str(body.get("kind", default_kind) or default_kind),
        name=str(body.get("name", "")),
        namespace=body.get("namespace") or None,
        section_name=body.get("sectionName") or None,
        port=int(port) if port is not None else None,
    )


def _selector(body: Mapping[str, Any] | None) -> LabelSelector | None:
    if body is None:
        return None
    return LabelSelector(
        match_labels=dict(body.get("matchLabels") or {}),
        match_expressions=tuple(
            (str(e.get("key", "")), str(e.get("operator", "")), tuple(e.get("values") or ()))
            for e in body.get("matchExpressions") or []
        ),
    )


def listener_of(body: Mapping[str, Any]) -> Listener:
    tls = body.get("tls") or {}
    allowed = body.get("allowedRoutes") or {}
    namespaces = allowed.get("namespaces") or {}
    kinds = allowed.get("kinds")
    return Listener(
        name=str(body.get("name", "")),
        port=int(body.get("port", 0) or 0),
        protocol=str(body.get("protocol", "")),
        hostname=body.get("hostname") or None,
        tls_mode=(tls.get("mode") or "Terminate") if tls else None,
        certificate_refs=tuple(_ref(r, "", "Secret") for r in tls.get("certificateRefs") or []),
        namespaces_from=str(namespaces.get("from", "Same") or "Same"),
        namespace_selector=_selector(namespaces.get("selector")),
        kinds=None
        if kinds is None
        else tuple(RouteKind(str(k.get("group", GROUP)), str(k.get("kind", ""))) for k in kinds),
    )


def gateway_class_of(body: Mapping[str, Any], bundle_version: str = "") -> GatewayClass:
    spec = body.get("spec") or {}
    return GatewayClass(
        meta=meta_of(body.get("metadata")),
        controller_name=str(spec.get("controllerName", "")),
        crd_bundle_version=bundle_version,
    )


def gateway_of(body: Mapping[str, Any]) -> Gateway:
    spec = body.get("spec") or {}
    return Gateway(
        meta=meta_of(body.get("metadata")),
        class_name=str(spec.get("gatewayClassName", "")),
        listeners=tuple(listener_of(x) for x in spec.get("listeners") or []),
        addresses=tuple(
            (str(a.get("type") or "IPAddress"), str(a.get("value") or ""))
            for a in spec.get("addresses") or []
        ),
    )


def http_route_of(body: Mapping[str, Any]) -> HTTPRoute:
    spec = body.get("spec") or {}
    return HTTPRoute(
        meta=meta_of(body.get("metadata")),
        parent_refs=tuple(_ref(r, GROUP, "Gateway") for r in spec.get("parentRefs") or []),
        hostnames=tuple(str(h) for h in spec.get("hostnames") or []),
        rules=tuple(dict(r) for r in spec.get("rules") or []),
    )


def grpc_route_of(body: Mapping[str, Any]) -> GRPCRoute:
    spec = body.get("spec") or {}
    return GRPCRoute(
        meta=meta_of(body.get("metadata")),
        parent_refs=tuple(_ref(r, GROUP, "Gateway") for r in spec.get("parentRefs") or []),
        hostnames=tuple(str(h) for h in spec.get("hostnames") or []),
        rules=tuple(dict(r) for r in spec.get("rules") or []),
    )


def tls_route_of(body: Mapping[str, Any]) -> TLSRoute:
    spec = body.get("spec") or {}
    return TLSRoute(
        meta=meta_of(body.get("metadata")),
        parent_refs=tuple(_ref(r, GROUP, "Gateway") for r in spec.get("parentRefs") or []),
        hostnames=tuple(str(h) for h in spec.get("hostnames") or []),
        rules=tuple(dict(r) for r in spec.get("rules") or []),
    )


def reference_grant_of(body: Mapping[str, Any]) -> ReferenceGrant:
    spec = body.get("spec") or {}
    return ReferenceGrant(
        meta=meta_of(body.get("metadata")),
        from_=tuple(
            GrantFrom(str(f.get("group", "")), str(f.get("kind", "")), str(f.get("namespace", "")))
            for f in spec.get("from") or []
        ),
        to=tuple(
            GrantTo(str(t.get("group", "")), str(t.get("kind", "")), t.get("name") or None)
            for t in spec.get("to") or []
        ),
    )


def objects_from_bodies(
    bodies: Iterable[Mapping[str, Any]], bundle_version: str = ""
) -> GatewayApiObjects:
    """Parse every `gateway.networking.k8s.io` body of a list (others are ignored), sorted."""
    classes, gateways, routes, grants, grpc_routes, tls_routes = [], [], [], [], [], []
    for body in bodies:
        if not str(body.get("apiVersion", "")).startswith(f"{GROUP}/"):
            continue
        kind = body.get("kind")
        if kind == "GatewayClass":
            classes.append(gateway_class_of(body, bundle_version))
        elif kind == "Gateway":
            gateways.append(gateway_of(body))
        elif kind == "HTTPRoute":
            routes.append(http_route_of(body))
        elif kind == "ReferenceGrant":
            grants.append(reference_grant_of(body))
        elif kind == "GRPCRoute":
            grpc_routes.append(grpc_route_of(body))
        elif kind == "TLSRoute":
            tls_routes.append(tls_route_of(body))

    def by_key(o: Any) -> tuple[str, str]:
        return (o.meta.namespace, o.meta.name)

    return GatewayApiObjects(
        classes=tuple(sorted(classes, key=by_key)),
        gateways=tuple(sorted(gateways, key=by_key)),
        routes=tuple(sorted(routes, key=by_key)),
        grants=tuple(sorted(grants, key=by_key)),
        grpc_routes=tuple(sorted(grpc_routes, key=by_key)),
        tls_routes=tuple(sorted(tls_routes, key=by_key)),
    )
