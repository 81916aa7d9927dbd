"""The compiler's output: proxy configs (with their content hash) and every object's status."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from msgspec.structs import replace

from meshproxy.config import ProxyConfig, as_loaded, canonical_json, to_data
from meshproxy.configparts import SplitConfig

from .report import ObjectStatus
from .snapshot import Meta


def versioned(config: ProxyConfig) -> tuple[ProxyConfig, str]:
    """Check the config as the proxy loads it, and stamp it with the sha256 of its canonical
    JSON (computed without the version).

    `as_loaded` decodes the config with the proxy's own decoder: a config the proxy would refuse
    fails the compile here (a compiler bug) instead of being written. The checked config is
    dumped once and the dict serialised twice, as `meshproxy.config.dump_config` serialises it
    (a unit test holds the text equal to `dump_config(stamped)`).
    """
    checked = as_loaded(config)
    data = to_data(checked)
    data["version"] = ""
    digest = hashlib.sha256(canonical_json(data).encode()).hexdigest()[:16]
    data["version"] = digest
    return replace(checked, version=digest), canonical_json(data)


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
    # The config gzip'ed and cut into parts when too large for one ConfigMap, else None.
    config_parts: SplitConfig | None = None
    # Files of the generated edge Secret (name -> content): key digests, Redis URLs. Never in
    # the config, a status or a log.
    edge_files: tuple[tuple[str, str], ...] = ()
    # The owner of the generated objects: a meshgate.io Gateway or a Gateway API one.
    owner_api_version: str = "meshgate.io/v1alpha1"

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
