"""What a proxy asks the config server for: `gateway/<namespace>/<name>` or `mesh/<namespace>`.

One definition for both sides: the proxy names its target with `format`, the operator parses the
request path with `parse` and decides with the caller's verified identity whether it may have it.
Pure; this module must never look at who asks, only at what is asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["gateway", "mesh"]
# Kubernetes object names (DNS subdomains) and namespaces (DNS labels) are never longer.
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


@dataclass(frozen=True, order=True)
class Target:
    kind: Kind
    namespace: str
    name: str = ""  # the Gateway's name; empty for a namespace's mesh config

    def __str__(self) -> str:
        if self.kind == "gateway":
            return f"gateway/{self.namespace}/{self.name}"
        return f"mesh/{self.namespace}"


def parse(text: str) -> Target | None:
    """The target `text` names, or None when it names none (wrong shape, bad names)."""
    parts = text.split("/")
    if parts[0] == "gateway" and len(parts) == 3 and all(_NAME.fullmatch(p) for p in parts[1:]):
        return Target("gateway", parts[1], parts[2])
    if parts[0] == "mesh" and len(parts) == 2 and _NAME.fullmatch(parts[1]):
        return Target("mesh", parts[1])
    return None
