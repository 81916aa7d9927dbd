"""The Secrets of edge policies: read the ones they reference, write each gateway's generated one.

Reading: every Secret an EdgeAuthentication or RateLimitPolicy names is fetched and reduced at
once by `meshgate.compile.edge.edge_secret_of` (API keys to sha256 digests); the values are
dropped here, so the snapshot, the compiler and the logs never hold a key. Writing: the
generated `meshgate-gw-<gateway>-apikeys` Secrets go through `sync_outputs` like every other
generated object, before the configs that name their files; `EdgeSecrets` remembers only their
metadata (the server's answer holds the data, which is dropped unread). Nothing here may log a body.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from meshgate.compile import Snapshot
from meshgate.compile.edge import edge_secret_of, edge_secret_refs
from meshgate.compile.snapshot import EdgeSecret

from .outputs import Key, OutputsResult, key_of, sync_outputs
from .rest import SECRET, Rest

# The Secrets the last reconcile read: a watch event on one of them is worth a reconcile.
referenced: set[tuple[str, str]] = set()


def with_edge_secrets(rest: Rest, snapshot: Snapshot) -> Snapshot:
    """The snapshot with `edge_secrets` filled from the Secrets its edge policies name."""
    uses = edge_secret_refs(snapshot.edge_authentications, snapshot.rate_limit_policies)
    referenced.clear()
    referenced.update(uses)
    found: dict[tuple[str, str], EdgeSecret] = {}
    for (ns, name), use in sorted(uses.items()):
        body = rest.read(SECRET, ns, name)
        if body is None:
            continue  # the compiler reports SecretNotFound
        found[(ns, name)] = edge_secret_of(body, use)
        del body
    return dataclasses.replace(snapshot, edge_secrets=found)


def _metadata_only(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    kept = ("name", "namespace", "labels", "annotations", "resourceVersion")
    return {"kind": "Secret", "metadata": {k: meta[k] for k in kept if k in meta}}


@dataclasses.dataclass
class EdgeSecrets:
    """The generated edge Secrets this process applied, as metadata, and their hashes.

    Only what this process applied is ever deleted: a Secret left by an earlier process whose
    policies went away while it was down names no file any config reads, and the garbage
    collector removes it with its Gateway. (No listing: a reconcile lists nothing extra.)
    """

    live: dict[Key, dict[str, Any]] = dataclasses.field(default_factory=dict)
    applied: dict[Key, str] = dataclasses.field(default_factory=dict)

    def sync(
        self, rest: Rest, desired: list[dict[str, Any]], retained: frozenset[str], *, force: bool
    ) -> OutputsResult:
        def written(answer: dict[str, Any]) -> None:
            self.live[key_of(answer)] = _metadata_only(answer)

        def deleted(key: Key) -> None:
            self.live.pop(key, None)

        return sync_outputs(
            rest,
            desired,
            dict(self.live),
            retained,
            self.applied,
            force=force,
            on_written=written,
            on_deleted=deleted,
        )
