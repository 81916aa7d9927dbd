"""The compiler's output: proxy configs (with their content hash) and every object's status."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from meshproxy.config import ProxyConfig, dump_config

from .report import ObjectStatus
from .snapshot import Meta


def versioned(config: ProxyConfig) -> tuple[ProxyConfig, str]:
    """Stamp the config with the sha256 of its canonical JSON (computed without the version)."""
    digest = hashlib.sha256(dump_config(config.model_copy(update={"version": ""})).encode())
    stamped = config.model_copy(update={"version": digest.hexdigest()[:16]})
    return stamped, dump_config(stamped)


@dataclass(frozen=True)
class GatewayOutput:
    gateway: Meta
    replicas: int
    service_type: str
    service_annotations: tuple[tuple[str, str], ...]
    resources: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (requests|limits, pairs)
    ports: tuple[tuple[str, int], ...]
    tls_secrets: tuple[str, ...]
    config: ProxyConfig
    config_json: str
    # Files of the generated edge Secret (name -> content): key digests, Redis URLs. Never in
    # the config, a status or a log.
    edge_files: tuple[tuple[str, str], ...] = ()

    @property
    def version(self) -> str:
        return self.config.version


@dataclass(frozen=True)
class MeshOutput:
    namespace: str
    config: ProxyConfig
    config_json: str

    @property
    def version(self) -> str:
        return self.config.version


@dataclass(frozen=True)
class CompileResult:
    gateways: tuple[GatewayOutput, ...]
    meshes: tuple[MeshOutput, ...]
    statuses: tuple[ObjectStatus, ...]
    # Gateways whose spec cannot be used right now: their last good outputs must stay in place.
    retained: frozenset[str]
