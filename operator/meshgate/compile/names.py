"""Names that appear in proxy config: clusters and the DNS names a Service answers to. Pure."""

from __future__ import annotations

from dataclasses import dataclass


def cluster_name(namespace: str, service: str, port: int, subset: str | None = None) -> str:
    base = f"{namespace}/{service}:{port}"
    return f"{base}/{subset}" if subset else base


@dataclass(frozen=True)
class ClusterRef:
    """A cluster a route names: a Service port, optionally one DestinationRule subset."""

    namespace: str
    service: str
    port: int
    subset: str | None = None

    @property
    def name(self) -> str:
        return cluster_name(self.namespace, self.service, self.port, self.subset)


def service_domains(namespace: str, service: str, cluster_domain: str, *, local: bool) -> list[str]:
    """Every DNS form of the Service; the bare name only resolves from its own namespace."""
    forms = [
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.{cluster_domain}",
    ]
    return [service, *forms] if local else forms
