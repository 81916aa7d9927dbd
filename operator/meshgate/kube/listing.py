"""List everything a reconcile reads from the API server into the `Store`.

This is the full, authoritative read: the operator's first reconcile and every periodic resync
run it, so whatever the watch events missed or reordered is repaired. Between listings the store
is kept current by watch events alone. Secrets are listed by type `kubernetes.io/tls` only and
the store keeps their key names, never their values.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshgate.settings import Settings

from .cluster_state import ClusterState, read_state
from .rest import (
    CONFIG_MAP,
    DEPLOYMENT,
    ENDPOINT_SLICE,
    MESHGATE_KINDS,
    NAMESPACE,
    PDB,
    POD,
    SECRET,
    SERVICE,
    Kind,
    Rest,
)
from .store import Store

OUTPUT_SELECTOR = (
    "app.kubernetes.io/managed-by=meshgate,"
    "app.kubernetes.io/name in (meshgate-gateway,meshgate-mesh)"
)


@dataclass(frozen=True)
class Listed:
    """One kind the store holds, and how to list it."""

    kind: Kind
    labels: str | None = None
    fields: str | None = None
    metadata_only: bool = False


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
    for item in LISTED:
        scopes = settings.namespaces if settings.namespaces and item.kind.namespaced else ("",)
        for ns in scopes:
            items, version = rest.list_versioned(
                item.kind,
                ns or None,
                labels=item.labels,
                fields=item.fields,
                metadata_only=item.metadata_only,
            )
            calls += 1
            store.replace(item.kind.kind, ns, items, version)
    return calls


def listed_store(rest: Rest, settings: Settings) -> Store:
    """A fresh store filled by one full listing (the benchmark's in-process figure uses it)."""
    store = Store()
    relist(rest, settings, store)
    return store


def read_cluster(rest: Rest, settings: Settings) -> ClusterState:
    """What one reconcile would read, from a fresh listing (benchmark and tests use it)."""
    return read_state(listed_store(rest, settings), settings)
