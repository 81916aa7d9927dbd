"""The Secrets of edge policies: read the ones they reference, write each gateway's generated one.

Reading: every Secret an EdgeAuthentication or RateLimitPolicy names is fetched and reduced at
once by `meshgate.compile.edge.edge_secret_of` (API keys to sha256 digests); the values are
dropped here, so the snapshot, the compiler and the logs never hold a key. Writing: the
generated `meshgate-gw-<gateway>-apikeys` Secrets are server-side applied before the configs
that name their files, and deleted when no policy needs them. Nothing here may log a body.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from typing import Any

from kubernetes.client.exceptions import ApiException

from meshgate.compile import Snapshot
from meshgate.compile.edge import edge_secret_of, edge_secret_refs
from meshgate.compile.snapshot import EdgeSecret
from meshgate.ownership import FIELD_MANAGER, HASH_ANNOTATION

from .rest import SECRET, NotFound, Rest

log = logging.getLogger("meshgate.edge")


# The Secrets the last reconcile read: a watch event on one of them is worth a reconcile.
referenced: set[tuple[str, str]] = set()


def with_edge_secrets(rest: Rest, snapshot: Snapshot) -> Snapshot:
    """The snapshot with `edge_secrets` filled from the Secrets its edge policies name."""
    uses = edge_secret_refs(snapshot.edge_authentications, snapshot.rate_limit_policies)
    referenced.clear()
    referenced.update(uses)
    found: dict[tuple[str, str], EdgeSecret] = {}
    for (ns, name), use in sorted(uses.items()):
        try:
            body = rest._call("GET", SECRET.path(ns, name))
        except NotFound:
            continue  # the compiler reports SecretNotFound
        found[(ns, name)] = edge_secret_of(body, use)
        del body
    return dataclasses.replace(snapshot, edge_secrets=found)


@dataclasses.dataclass
class EdgeSecretWriter:
    """Applies the generated edge Secrets; remembers their hashes to skip unchanged writes."""

    rest: Rest
    applied: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)

    def sync(self, desired: list[dict[str, Any]], *, force: bool) -> list[str]:
        """Apply `desired`, delete generated edge Secrets no longer wanted; the errors."""
        errors: list[str] = []
        wanted: set[tuple[str, str]] = set()
        for obj in desired:
            meta = obj["metadata"]
            key = (meta["namespace"], meta["name"])
            wanted.add(key)
            digest = hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]
            if not force and self.applied.get(key) == digest:
                continue
            meta.setdefault("annotations", {})[HASH_ANNOTATION] = digest
            try:
                # The answer holds the Secret's data: dropped unread.
                self.rest._call(
                    "PATCH",
                    SECRET.path(key[0], key[1]),
                    query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
                    body=obj,
                    content_type="application/apply-patch+yaml",
                )
            except ApiException as exc:
                errors.append(f"applying Secret {key[0]}/{key[1]}: {exc.status}")
                self.applied.pop(key, None)
                continue
            self.applied[key] = digest
        # Only what this process applied: a Secret left by an earlier process whose policies
        # went away while it was down names no file any config reads, and the garbage
        # collector removes it with its Gateway. (No listing: a reconcile lists nothing extra.)
        stale = set(self.applied) - wanted
        for ns, name in sorted(stale):
            try:
                self.rest.delete(SECRET, ns, name)
            except ApiException as exc:
                errors.append(f"deleting Secret {ns}/{name}: {exc.status}")
                continue
            self.applied.pop((ns, name), None)
        for error in errors:
            log.warning("edge Secret: %s", error)
        return errors
