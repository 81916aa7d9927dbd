"""Names that appear in proxy config: clusters and the DNS names a Service answers to. Pure."""

from __future__ import annotations

import weakref
from dataclasses import dataclass


def cluster_name(namespace: str, service: str, port: int, subset: str | None = None) -> str:
    base = f"{namespace}/{service}:{port}"
    return f"{base}/{subset}" if subset else base


@dataclass(frozen=True)
class ClusterRef:
    """A cluster a route names: a Service port, optionally one DestinationRule subset.

    Looked up in dictionaries once per Route per compile (which clusters a Gateway uses, each
    Route's ready endpoints): its hash is computed once, and `cluster_ref` hands back one object
    per value so those lookups match by identity instead of the generated `__eq__`."""

    namespace: str
    service: str
    port: int
    subset: str | None = None

    def __post_init__(self) -> None:
        value = (self.namespace, self.service, self.port, self.subset)
        object.__setattr__(self, "_hash", hash(value))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[no-any-return,attr-defined]

    @property
    def name(self) -> str:
        return cluster_name(self.namespace, self.service, self.port, self.subset)


# One ClusterRef per value while any is in use (translations keep theirs between compiles).
_REFS: weakref.WeakValueDictionary[tuple[str, str, int, str | None], ClusterRef] = (
    weakref.WeakValueDictionary()
)


def cluster_ref(namespace: str, service: str, port: int, subset: str | None = None) -> ClusterRef:
    key = (namespace, service, port, subset)
    ref = _REFS.get(key)
    if ref is None:
        ref = _REFS[key] = ClusterRef(namespace, service, port, subset)
    return ref


def service_domains(namespace: str, service: str, cluster_domain: str, *, local: bool) -> list[str]:
    """Every DNS form of the Service; the bare name only resolves from its own namespace."""
    forms = [
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.{cluster_domain}",
    ]
    return [service, *forms] if local else forms
