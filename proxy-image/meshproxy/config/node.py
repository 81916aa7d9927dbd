"""Where a proxy runs: its role, its workload labels and its mesh identity files."""

from __future__ import annotations

from typing import Literal

import msgspec

from .base import Model


class Node(Model, frozen=True):
    """Who this proxy is. Labels let one namespace-wide config carry workload-scoped policy."""

    role: Literal["gateway", "sidecar"]
    name: str = ""
    namespace: str = ""
    labels: dict[str, str] = msgspec.field(default_factory=dict)


class Identity(Model, frozen=True):
    """The workload's mesh identity: files from the mounted identity Secret."""

    cert_file: str
    key_file: str
    ca_file: str
    trust_domain: str = "cluster.local"
