"""The compiler's output: proxy configs (with their content hash) and every object's status."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

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
    serialised once, as `meshproxy.config.dump_config` serialises it (a unit test holds the text
    equal to `dump_config(stamped)`): `version` sorts last of the top-level keys, so the stamped
    text is the hashed text with its last member replaced.
    """
    checked = as_loaded(config)
    data = to_data(checked)
    data["version"] = ""
    digest, text = stamp(canonical_json(data))
    return replace(checked, version=digest), text


def stamp(blank: str) -> tuple[str, str]:
    """The version of a config dumped with an empty version (the first 16 hex digits of the
    sha256 of that text), and the text stamped with it."""
    digest = hashlib.sha256(blank.encode()).hexdigest()[:16]
    if blank.endswith(_BLANK_VERSION):
        return digest, f'{blank[: -len(_BLANK_VERSION)]}"version":"{digest}"}}'
    # A schema whose last key is not `version`: serialise again.
    data = json.loads(blank)
    data["version"] = digest
    return digest, canonical_json(data)


_BLANK_VERSION = '"version":""}'


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
    # The config gzip'ed and cut into parts when too large for one ConfigMap, else None.
    config_parts: SplitConfig | None = None
    # Too large even for the parts a sidecar mounts: written inline (and refused by the API server).
    too_large: bool = False

    @property
    def version(self) -> str:
        return self.config.version


@dataclass(frozen=True)
class CompileResult:
    """Configs at once; statuses on first read, so the I/O layer can write the configs before
    the status pass runs (a change reaches the proxies without waiting for every status)."""

    gateways: tuple[GatewayOutput, ...]
    meshes: tuple[MeshOutput, ...]
    # Gateways whose spec cannot be used right now: their last good outputs must stay in place.
    retained: frozenset[str]
    # The status pass over this compile's usage records: reads only immutable values, so it may
    # run later and in another thread.
    status_pass: Callable[[], tuple[ObjectStatus, ...]] = field(compare=False, repr=False)

    @cached_property
    def statuses(self) -> tuple[ObjectStatus, ...]:
        return self.status_pass()
