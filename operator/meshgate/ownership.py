"""How meshgate marks what it writes, defined once: the managed-by label, the field manager its
server-side applies use, the content-hash annotation that lets a reconcile skip unchanged writes,
and the labels that say which component and which Gateway an object belongs to.

Constants only. Every layer imports this module (the pure builders that label objects, the I/O
that selects them, the watches that filter on them), so it must never import anything of
meshgate's or of a third party.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# Every object meshgate writes carries this label; only objects carrying it are ever deleted.
MANAGED_BY_KEY: Final = "app.kubernetes.io/managed-by"
MANAGER: Final = "meshgate"
MANAGED_BY: Final[Mapping[str, str]] = MappingProxyType({MANAGED_BY_KEY: MANAGER})
MANAGED_SELECTOR: Final = f"{MANAGED_BY_KEY}={MANAGER}"

# The field manager of every server-side apply and create.
FIELD_MANAGER: Final = MANAGER

# The content hash of the last applied body: an event carrying it is meshgate's own write.
HASH_ANNOTATION: Final = "meshgate.io/applied-hash"

# Which part of meshgate owns an object (ca, identity, webhook, network-policy ...).
COMPONENT_LABEL: Final = "meshgate.io/component"
# The Gateway a generated object belongs to; objects without it belong to a mesh namespace.
GATEWAY_LABEL: Final = "meshgate.io/gateway"

# Sidecar injection: the namespace label or Pod annotation that asks for it, the label an injected
# Pod carries (the identity controller issues certificates for the Pods that carry it).
INJECT_LABEL: Final = "meshgate.io/inject"
INJECT_ENABLED: Final = "enabled"
INJECTED_LABEL: Final = "meshgate.io/injected"
