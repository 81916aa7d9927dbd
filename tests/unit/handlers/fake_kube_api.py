"""An in-memory stand-in for `meshgate.kube.rest.Rest` that counts the calls a reconcile makes.

Objects live in a dict keyed by (kind, namespace, name); every write bumps one cluster-wide
resourceVersion, as etcd does. Label selectors are understood only as far as the operator uses
them (`managed-by=meshgate`); field selectors only as `type=...`.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from typing import Any

from meshgate.kube.credentials import Credentials
from meshgate.kube.rest import MESHGATE_KINDS, Kind, Rest

Key = tuple[str, str, str]


class FakeKubeApi(Rest):
    def __init__(self) -> None:
        super().__init__(Credentials(server="http://fake.invalid"))
        self.objects: dict[Key, dict[str, Any]] = {}
        self.version = 100
        self.calls: Counter[str] = Counter()

    # -- what the test does to the cluster, as a user or a controller would -------------------

    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create or replace an object; the spec moving bumps `generation` for meshgate kinds."""
        body = copy.deepcopy(body)
        meta = body.setdefault("metadata", {})
        key = (body["kind"], meta.get("namespace", ""), meta["name"])
        old = self.objects.get(key)
        self.version += 1
        meta["resourceVersion"] = str(self.version)
        meta.setdefault("uid", f"uid-{meta['name']}")
        meta.setdefault("creationTimestamp", f"2024-01-01T00:00:{len(self.objects):02d}Z")
        if body["kind"] in MESHGATE_KINDS:
            generation = (old or {}).get("metadata", {}).get("generation", 0)
            moved = old is None or old.get("spec") != body.get("spec")
            meta["generation"] = generation + 1 if moved else generation
            body.setdefault("status", (old or {}).get("status", {}))
        self.objects[key] = body
        return copy.deepcopy(body)

    def remove(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        body = self.objects.pop((kind, namespace, name))
        self.version += 1
        body["metadata"]["resourceVersion"] = str(self.version)
        return copy.deepcopy(body)

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.objects.get((kind, namespace, name)))

    # -- the Rest interface -------------------------------------------------------------------

    def list_versioned(
        self,
        kind: Kind,
        namespace: str | None = None,
        *,
        labels: str | None = None,
        fields: str | None = None,
        metadata_only: bool = False,
        each: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        self.calls["list"] += 1
        items = []
        for (k, ns, _), body in sorted(self.objects.items()):
            if k != kind.kind or (namespace and ns != namespace):
                continue
            obj_labels = body["metadata"].get("labels") or {}
            if labels and obj_labels.get("app.kubernetes.io/managed-by") != "meshgate":
                continue
            if fields and f"type={body.get('type', '')}" != fields:
                continue
            item = copy.deepcopy(body)
            items.append(item if each is None else each(item))
        return items, str(self.version)

    def apply(self, obj: dict[str, Any], *, status: bool = False) -> dict[str, Any]:
        self.calls["status" if status else "apply"] += 1
        meta = obj["metadata"]
        key = (obj["kind"], meta.get("namespace", ""), meta["name"])
        if status:
            current = copy.deepcopy(self.objects[key])
            current["status"] = copy.deepcopy(obj["status"])
            self.version += 1
            current["metadata"]["resourceVersion"] = str(self.version)
            self.objects[key] = current
            return copy.deepcopy(current)
        old = self.objects.get(key)
        if (
            old is not None
            and {**old, "metadata": {}} == {**obj, "metadata": {}}
            and (old["metadata"].get("annotations") == meta.get("annotations"))
        ):
            return copy.deepcopy(old)  # server-side apply of the same content: a no-op
        return self.put(obj)

    def delete(self, kind: Kind, namespace: str, name: str) -> None:
        self.calls["delete"] += 1
        self.objects.pop((kind.kind, namespace, name), None)

    def create(self, kind: Kind, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls["event" if kind.kind == "Event" else "create"] += 1
        return body
