"""Which Routes govern in-mesh traffic to which Services (`spec.hosts`). Pure.

As in the Gateway API's mesh profile: a Route in the Service's own namespace (producer route)
applies to every client; a Route in the client's namespace (consumer route) applies to that
namespace's clients only and, for them, replaces the producer routes. A host may name one port of
the Service (`reviews.shop:8080`, written only by the Gateway API adapter for a Service
parentRef with `port`): the Route then governs that port only, and replaces routes for that port
only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meshgate.api.v1alpha1.route import RouteSpec

from .index import Index
from .report import q
from .snapshot import Resource

ServiceKey = tuple[str, str]


@dataclass
class MeshRoutes:
    by_service: dict[ServiceKey, list[Resource[RouteSpec]]] = field(default_factory=dict)
    refused: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    hosts: dict[str, set[ServiceKey]] = field(default_factory=dict)
    # (route key, Service) -> the Service ports the route governs; absent: every port
    ports: dict[tuple[str, ServiceKey], set[int]] = field(default_factory=dict)

    def for_client(
        self, client_ns: str, service: ServiceKey, port: int | None = None
    ) -> list[Resource[RouteSpec]]:
        routes = self.by_service.get(service, [])
        if port is not None:
            routes = [r for r in routes if self._covers(r, service, port)]
        consumer = [r for r in routes if r.meta.namespace == client_ns]
        if consumer:
            return consumer
        return [r for r in routes if r.meta.namespace == service[0]]

    def _covers(self, route: Resource[RouteSpec], service: ServiceKey, port: int) -> bool:
        ports = self.ports.get((route.meta.key, service))
        return ports is None or port in ports


def split_port(host: str) -> tuple[str, int | None]:
    """`reviews.shop:8080` -> (`reviews.shop`, 8080); a host without a port -> (host, None)."""
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit():
        return name, int(port)
    return host, None


def mesh_routes(index: Index) -> MeshRoutes:
    out = MeshRoutes()
    for route in index.snapshot.routes:
        if route.spec is None or not route.spec.hosts:
            continue  # most Routes name no mesh host: nothing is made for them
        whole: set[ServiceKey] = set()
        for host in route.spec.hosts:
            name, port = split_port(host)
            target = index.resolve_host(name, route.meta.namespace)
            if target is None:
                out.refused.setdefault(route.meta.key, []).append(
                    (
                        "BackendNotFound",
                        f"mesh host {q(host)} is not a Service seen from namespace "
                        f"{q(route.meta.namespace)}",
                    )
                )
                continue
            if route not in out.by_service.get(target, []):
                out.by_service.setdefault(target, []).append(route)
            out.hosts.setdefault(route.meta.key, set()).add(target)
            if port is None:
                whole.add(target)
            else:
                out.ports.setdefault((route.meta.key, target), set()).add(port)
        for target in whole:  # the whole Service named too: every port
            out.ports.pop((route.meta.key, target), None)
    return out
