"""Read what the operator reads, from the cluster, for the live commands (`analyze`, `describe`).

The operator's own listing (`meshgate.kube.listing`) and snapshot builder, so a live analysis sees
the cluster exactly as the next reconcile will. Secret values never leave `with_edge_secrets`.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from urllib3.exceptions import HTTPError

from meshgate.compile import MeshSettings, Snapshot
from meshgate.kube.cluster_state import SNAPSHOT_FIELDS, read_state
from meshgate.kube.credentials import CredentialsError
from meshgate.kube.edge_secrets import with_edge_secrets
from meshgate.kube.listing import listed_store
from meshgate.kube.rest import KubeError
from meshgate.settings import Settings

from .kubeaccess import connect
from .manifests import Document


class LiveError(Exception):
    """The cluster cannot be read; the message says what failed."""


Bodies = Mapping[str, Sequence[dict[str, Any]]]


def cluster_snapshot(args: argparse.Namespace, mesh: MeshSettings) -> tuple[Snapshot, Bodies]:
    """The snapshot the operator would compile now, and the meshgate objects' bodies by kind."""
    settings = Settings(
        operator_namespace=mesh.operator_namespace,
        trust_domain=mesh.trust_domain,
        cluster_domain=mesh.cluster_domain,
    )
    try:
        rest = connect(args)
        store = listed_store(rest, settings)
        state = read_state(store, settings)
        snap = with_edge_secrets(rest, state.snapshot)
    except CredentialsError as exc:
        raise LiveError(f"no cluster: {exc}") from None
    except (KubeError, HTTPError, OSError) as exc:
        raise LiveError(f"cannot read the cluster: {exc}") from None
    bodies = {kind: list(store.items(kind)) for kind in SNAPSHOT_FIELDS}
    return snap, bodies


def cluster_documents(bodies: Bodies) -> list[Document]:
    """Live objects as documents without a file, so findings can still name their fields."""
    return [Document("", 0, {**b, "kind": kind}) for kind, items in bodies.items() for b in items]
