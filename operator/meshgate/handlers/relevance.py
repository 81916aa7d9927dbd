"""Which watch events can change the desired state: the rest must not trigger a reconcile.

The operator's own writes come back as events: status written on a Route, a ConfigMap applied.
Reconciling for those is wasted work that delays the next real change, so they are dropped here:
a meshgate object whose `generation` did not move (only its status or metadata changed), and a
generated object that still carries the hash meshgate applied. Deletions always count. This is
a filter over event bodies, nothing more: it never reads the API and never decides what to write.
"""

from __future__ import annotations

from typing import Any

from meshgate.ownership import HASH_ANNOTATION

Key = tuple[str, str, str]


class Relevance:
    def __init__(self) -> None:
        self._generations: dict[Key, int] = {}
        self._ready: dict[Key, int] = {}

    def custom(self, kind: str, event_type: str | None, body: dict[str, Any]) -> bool:
        """A meshgate object: relevant when new, deleted, or its spec (generation) moved."""
        meta = body.get("metadata") or {}
        key = (kind, meta.get("namespace", ""), meta.get("name", ""))
        if event_type == "DELETED":
            self._generations.pop(key, None)
            return True
        generation = int(meta.get("generation") or 0)
        if self._generations.get(key) == generation:
            return False
        self._generations[key] = generation
        return True

    def generated(
        self, kind: str, event_type: str | None, body: dict[str, Any], applied: dict[Key, str]
    ) -> bool:
        """A generated object: relevant when deleted, edited by someone else, or (Deployments)
        when its ready replica count changed, which the Gateway's status reports."""
        meta = body.get("metadata") or {}
        key = (kind, meta.get("namespace", ""), meta.get("name", ""))
        if event_type == "DELETED":
            return True
        if kind == "Deployment":
            ready = int((body.get("status") or {}).get("readyReplicas") or 0)
            if self._ready.get(key) != ready:
                self._ready[key] = ready
                return True
        ours = applied.get(key)
        theirs = (meta.get("annotations") or {}).get(HASH_ANNOTATION)
        return ours is None or ours != theirs
