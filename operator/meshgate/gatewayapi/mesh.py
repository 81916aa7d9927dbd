"""HTTPRoutes whose parentRef is a Service (the Gateway API's mesh profile, GAMMA) to meshgate
mesh Routes, and their `status.parents` entries. Pure.

A Service parent makes the HTTPRoute govern in-mesh traffic to that Service, exactly as a
meshgate Route's `spec.hosts` does; the compiler then treats both alike (`compile/mesh_routes`):
a route in the Service's namespace (producer route) applies to every client, a route in another
namespace (consumer route) to that namespace's clients only. `parentRef.port` narrows the route to
that Service port: the adapted host is then `<service>.<namespace>:<port>`, a form only this
adapter writes (a meshgate Route's `hosts` pattern refuses `:`). A consumer route may send to its
parent Service without a ReferenceGrant: it only reshapes traffic its own namespace already sends
there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshgate.api.v1alpha1.route import RouteSpec
from meshgate.compile.snapshot import Meta, Resource, Service

from .conditions import cond
from .objects import (
    CONTROLLER_NAME,
    GROUP,
    GrantFrom,
    GrantTo,
    HTTPRoute,
    ObjectRef,
    ReferenceGrant,
)
from .translate import Translation

# The compiler's name for the mesh side of an HTTPRoute: apart from its Gateway side's
# (`adapt.ROUTE_PREFIX`), since one HTTPRoute may have parents of both kinds.
MESH_ROUTE_PREFIX = "httproute-mesh:"


def is_service_parent(ref: ObjectRef) -> bool:
    return ref.kind == "Service" and ref.group in ("", "core")


@dataclass(frozen=True)
class MeshParent:
    """One Service parentRef and what it resolved to: the adapted host, or why not."""

    ref: ObjectRef
    host: str | None
    reason: str = "Accepted"
    message: str = ""


def judge_service_parents(
    route: HTTPRoute, services: Mapping[tuple[str, str], Service]
) -> list[MeshParent]:
    out = []
    for ref in route.parent_refs:
        if not is_service_parent(ref):
            continue
        ns = ref.namespace or route.meta.namespace
        service = services.get((ns, ref.name))
        if service is None:
            out.append(
                MeshParent(ref, None, "NoMatchingParent", f'service "{ns}/{ref.name}" not found')
            )
        elif ref.port is not None and not any(p.port == ref.port for p in service.ports):
            have = ", ".join(str(p.port) for p in service.ports) or "none"
            message = f'service "{ns}/{ref.name}" has no port {ref.port} (ports: {have})'
            out.append(MeshParent(ref, None, "NoMatchingParent", message))
        else:
            host = f"{ref.name}.{ns}" + (f":{ref.port}" if ref.port is not None else "")
            message = f'routes in-mesh traffic to service "{ns}/{ref.name}"'
            out.append(MeshParent(ref, host, "Accepted", message))
    return out


def parent_grants(route: HTTPRoute, parents: list[MeshParent]) -> tuple[ReferenceGrant, ...]:
    """What lets a consumer route send to its parent Services (and only those) in another
    namespace, in the shape `translate` already checks backendRefs against."""
    grants = []
    for p in parents:
        ns = p.ref.namespace or route.meta.namespace
        if p.host is None or ns == route.meta.namespace:
            continue
        grants.append(
            ReferenceGrant(
                meta=Meta(namespace=ns, name=f"{MESH_ROUTE_PREFIX}{route.meta.name}"),
                from_=(GrantFrom(GROUP, "HTTPRoute", route.meta.namespace),),
                to=(GrantTo("", "Service", p.ref.name),),
            )
        )
    return tuple(grants)


def mesh_status_entries(
    route: HTTPRoute,
    parents: list[MeshParent],
    translation: Translation,
    resolved: dict[str, Any],
) -> list[dict[str, Any]]:
    """One `status.parents` entry per Service parentRef, as for a Gateway parent."""
    gen = route.meta.generation
    entries = []
    for p in parents:
        if translation.unsupported and p.host is not None:
            accepted = cond(
                "Accepted", False, "UnsupportedValue", "; ".join(translation.unsupported), gen
            )
        else:
            accepted = cond("Accepted", p.host is not None, p.reason, p.message, gen)
        entries.append(
            {
                "parentRef": _echo(p.ref),
                "controllerName": CONTROLLER_NAME,
                "conditions": [accepted, resolved],
            }
        )
    return entries


def mesh_route(
    route: HTTPRoute, parents: list[MeshParent], translation: Translation
) -> Resource[RouteSpec] | None:
    """The meshgate Route the compiler gets for the accepted Service parents, if any."""
    hosts = sorted({p.host for p in parents if p.host is not None})
    if not hosts or translation.unsupported or not translation.rules:
        return None
    # `hosts` may carry `:port` here (see the module docstring): set after validation.
    spec = RouteSpec(hosts=["placeholder"], rules=translation.rules).model_copy(
        update={"hosts": hosts}
    )
    m = route.meta
    meta = Meta(
        namespace=m.namespace,
        name=MESH_ROUTE_PREFIX + m.name,
        uid=m.uid,
        generation=m.generation,
        creation_timestamp=m.creation_timestamp,
        labels=m.labels,
    )
    return Resource(kind="Route", meta=meta, spec=spec, api_version=f"{GROUP}/v1")


def _echo(ref: ObjectRef) -> dict[str, Any]:
    out: dict[str, Any] = {"group": ref.group, "kind": ref.kind, "name": ref.name}
    if ref.namespace is not None:
        out["namespace"] = ref.namespace
    if ref.port is not None:
        out["port"] = ref.port
    return out
