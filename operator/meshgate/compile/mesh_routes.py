"""Which Routes govern in-mesh traffic to which Services (`spec.hosts`). Pure.

As in the Gateway API's mesh profile: a Route in the Service's own namespace (producer route)
applies to every client; a Route in the client's namespace (consumer route) applies to that
namespace's clients only and, for them, replaces the producer routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meshgate.api.v1alpha1.route import RouteSpec

from .index import Index
from .report import q
from .snapshot import Resource


@dataclass
class MeshRoutes:
    by_service: dict[tuple[str, str], list[Resource[RouteSpec]]] = field(default_factory=dict)
    refused: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    hosts: dict[str, set[tuple[str, str]]] = field(default_factory=dict)

    def for_client(self, client_ns: str, service: tuple[str, str]) -> list[Resource[RouteSpec]]:
        routes = self.by_service.get(service, [])
        consumer = [r for r in routes if r.meta.namespace == client_ns]
        if consumer:
            return consumer
        return [r for r in routes if r.meta.namespace == service[0]]


def mesh_routes(index: Index) -> MeshRoutes:
    out = MeshRoutes()
    for route in index.snapshot.routes:
        if route.spec is None:
            continue
        for host in route.spec.hosts or []:
            target = index.resolve_host(host, route.meta.namespace)
            if target is None:
                out.refused.setdefault(route.meta.key, []).append(
                    (
                        "BackendNotFound",
                        f"mesh host {q(host)} is not a Service seen from namespace "
                        f"{q(route.meta.namespace)}",
                    )
                )
                continue
            out.by_service.setdefault(target, []).append(route)
            out.hosts.setdefault(route.meta.key, set()).add(target)
    return out
