"""List everything a reconcile reads from the API server into the `Store`.

This is the full, authoritative read: the operator's first reconcile and every periodic resync
run it, so whatever the watch events missed or reordered is repaired. Between listings the store
is kept current by watch events alone. Secrets are listed by type `kubernetes.io/tls` only and
the store keeps their key names, never their values.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from meshgate.gatewayapi.objects import BUNDLE_ANNOTATION, store_kind
from meshgate.ownership import MANAGED_SELECTOR
from meshgate.settings import Settings

from .cluster_state import ClusterState, read_state
from .rest import (
    CONFIG_MAP,
    CRD,
    DEPLOYMENT,
    ENDPOINT_SLICE,
    GATEWAY_API_KINDS,
    MESHGATE_KINDS,
    NAMESPACE,
    PDB,
    POD,
    SECRET,
    SERVICE,
    Kind,
    NotFound,
    Rest,
)
from .store import Store

OUTPUT_SELECTOR = f"{MANAGED_SELECTOR},app.kubernetes.io/name in (meshgate-gateway,meshgate-mesh)"


@dataclass(frozen=True)
class Listed:
    """One kind the store holds, and how to list it."""

    kind: Kind
    labels: str | None = None
    fields: str | None = None
    metadata_only: bool = False
    store_kind: str = ""  # the store's name for it when the kind name is ambiguous
    optional: bool = False  # its CRD may be absent: listed as empty then

    @property
    def stored_as(self) -> str:
        return self.store_kind or self.kind.kind


# Gateway API kinds, listed only when the operator serves them; their CRDs may be missing.
GATEWAY_API_LISTED: tuple[Listed, ...] = tuple(
    Listed(kind, store_kind=store_kind(kind.kind), optional=True) for kind in GATEWAY_API_KINDS
)
GATEWAY_CRD = "gateways.gateway.networking.k8s.io"


LISTED: tuple[Listed, ...] = (
    *(Listed(kind) for kind in MESHGATE_KINDS.values()),
    Listed(SERVICE),  # every Service: backends, and the generated gateway Services among them
    Listed(ENDPOINT_SLICE),
    Listed(SECRET, fields="type=kubernetes.io/tls"),
    Listed(POD, metadata_only=True),
    Listed(NAMESPACE),
    Listed(CONFIG_MAP, labels=OUTPUT_SELECTOR),
    Listed(DEPLOYMENT, labels=OUTPUT_SELECTOR),
    Listed(PDB, labels=OUTPUT_SELECTOR),
)


def relist(rest: Rest, settings: Settings, store: Store) -> int:
    """List every kind the store holds and replace its contents; returns the list calls made."""
    calls = 0
    listed = LISTED + (GATEWAY_API_LISTED if settings.gateway_api else ())
    for item in listed:
        scopes = settings.namespaces if settings.namespaces and item.kind.namespaced else ("",)
        for ns in scopes:
            try:
                items, version = rest.list_versioned(
                    item.kind,
                    ns or None,
                    labels=item.labels,
                    fields=item.fields,
                    metadata_only=item.metadata_only,
                    each=partial(store.kept_or_slim, item.stored_as),
                )
            except NotFound:
                if not item.optional:
                    raise
                items, version = [], ""
            calls += 1
            store.replace(item.stored_as, ns, items, version, slimmed=True)
    if settings.gateway_api:
        calls += 1
        store.replace(CRD.kind, "", _bundle_of(rest), "")
    return calls


def _bundle_of(rest: Rest) -> list[dict[str, object]]:
    """The Gateway CRD reduced to its bundle-version annotation (GatewayClass SupportedVersion)."""
    crd = rest.read(CRD, "", GATEWAY_CRD)
    if crd is None:
        return []
    annotations = (crd.get("metadata") or {}).get("annotations") or {}
    bundle = annotations.get(BUNDLE_ANNOTATION, "")
    return [{"metadata": {"name": GATEWAY_CRD, "annotations": {BUNDLE_ANNOTATION: bundle}}}]


def listed_store(rest: Rest, settings: Settings) -> Store:
    """A fresh store filled by one full listing (the benchmark's in-process figure uses it)."""
    store = Store()
    relist(rest, settings, store)
    return store


def read_cluster(rest: Rest, settings: Settings) -> ClusterState:
    """What one reconcile would read, from a fresh listing (benchmark and tests use it)."""
    return read_state(listed_store(rest, settings), settings)
