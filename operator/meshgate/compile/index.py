"""Lookups over a snapshot, built once per compile so every stage asks in O(1). Pure."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .snapshot import EndpointSlice, Namespace, Pod, Secret, Service, Snapshot

SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})


@dataclass(frozen=True)
class Index:
    snapshot: Snapshot
    services: dict[tuple[str, str], Service]
    slices: dict[tuple[str, str], tuple[EndpointSlice, ...]]
    pods: dict[tuple[str, str], Pod]
    secrets: dict[tuple[str, str], Secret]
    namespaces: dict[str, Namespace]

    @classmethod
    def build(cls, snap: Snapshot, previous: Index | None = None) -> Index:
        """`previous`: the index of an earlier snapshot; each table whose collection is the
        very same tuple there is taken as it is (tables are never changed once built)."""
        old = previous.snapshot if previous is not None else None

        def held(name: str) -> bool:
            return old is not None and getattr(old, name) is getattr(snap, name)

        return cls(
            snapshot=snap,
            services=previous.services
            if previous is not None and held("services")
            else {(s.meta.namespace, s.meta.name): s for s in snap.services},
            slices=previous.slices
            if previous is not None and held("endpoint_slices")
            else _slices(snap.endpoint_slices),
            pods=previous.pods
            if previous is not None and held("pods")
            else {(p.meta.namespace, p.meta.name): p for p in snap.pods},
            secrets=previous.secrets
            if previous is not None and held("secrets")
            else {(s.meta.namespace, s.meta.name): s for s in snap.secrets},
            namespaces=previous.namespaces
            if previous is not None and held("namespaces")
            else {n.name: n for n in snap.namespaces},
        )

    def meshed(self, namespace: str) -> bool:
        ns = self.namespaces.get(namespace)
        return ns is not None and ns.meshed and namespace not in SYSTEM_NAMESPACES

    def resolve_host(self, host: str, namespace: str) -> tuple[str, str] | None:
        """A mesh host (`reviews`, `reviews.shop`, `reviews.shop.svc[.<domain>]`) to a Service."""
        domain = self.snapshot.settings.cluster_domain
        parts = host.split(".")
        if len(parts) == 1:
            key = (namespace, parts[0])
        elif len(parts) == 2 or (
            len(parts) >= 3 and parts[2] == "svc" and ".".join(parts[3:]) in ("", domain)
        ):
            key = (parts[1], parts[0])
        else:
            return None
        return key if key in self.services else None


def _slices(items: tuple[EndpointSlice, ...]) -> dict[tuple[str, str], tuple[EndpointSlice, ...]]:
    by_service: dict[tuple[str, str], list[EndpointSlice]] = defaultdict(list)
    for s in items:
        if s.service:
            by_service[(s.meta.namespace, s.service)].append(s)
    return {k: tuple(v) for k, v in by_service.items()}
