"""The snapshot a reconcile builds from the store is the one `snapshot_from_bodies` builds from
the same bodies, and each object is parsed again only when its resourceVersion moves."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshgate.compile import MeshSettings, Snapshot, snapshot_from_bodies
from meshgate.gatewayapi import GROUP
from meshgate.gatewayapi.objects import store_kind
from meshgate.kube.cluster_state import ParseCache, read_state
from meshgate.kube.store import LAST_APPLIED, Store
from meshgate.settings import Settings

REPO = Path(__file__).resolve().parents[3]
CASES = sorted((REPO / "tests" / "golden" / "compile" / "cases").glob("*.yaml"))
CORE = ("Service", "EndpointSlice", "Pod", "Secret", "Namespace")


def _documents(path: Path) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    for i, doc in enumerate(docs):
        meta = doc.setdefault("metadata", {})
        if doc["kind"] != "Namespace":
            meta.setdefault("namespace", "shop")
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = str(100 + i)
    return docs


def _store(docs: list[dict[str, Any]]) -> Store:
    store = Store()
    for doc in docs:
        kind = doc["kind"]
        if str(doc.get("apiVersion", "")).startswith(f"{GROUP}/"):
            kind = store_kind(kind)  # as the watches store them: `Gateway` is meshgate.io's
        store.observe(kind, "ADDED", copy.deepcopy(doc))
    return store


def _ingested(docs: list[dict[str, Any]]) -> Snapshot:
    """What the compiler's own ingest makes of `docs`."""
    custom: dict[str, list[Any]] = {}
    core: dict[str, list[Any]] = {k: [] for k in CORE}
    for doc in docs:
        if str(doc.get("apiVersion", "")).startswith("meshgate.io/"):
            custom.setdefault(doc["kind"], []).append(doc)
        elif doc["kind"] in core:
            secret = doc["kind"] == "Secret"
            core[doc["kind"]].append(
                {**doc, "data": dict.fromkeys(doc.get("data") or {}, "")} if secret else doc
            )
    return snapshot_from_bodies(
        settings=MeshSettings(),
        custom=custom,
        services=core["Service"],
        endpoint_slices=core["EndpointSlice"],
        pods=[{"metadata": p["metadata"]} for p in core["Pod"]],
        secrets=core["Secret"],
        namespaces=core["Namespace"],
    )


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_store_snapshot_equals_the_ingested_one(case: Path) -> None:
    docs = _documents(case)
    got = read_state(_store(docs), Settings()).snapshot
    assert got == _ingested(docs)


def _as_kubectl_applied(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` as the API server returns it after `kubectl apply`, with its bookkeeping."""
    out = copy.deepcopy(doc)
    meta = out["metadata"]
    meta["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    meta["annotations"] = {**meta.get("annotations", {}), LAST_APPLIED: json.dumps(doc)}
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_store_drops_kubectl_bookkeeping_and_the_snapshot_is_unchanged(case: Path) -> None:
    docs = _documents(case)
    store = _store([_as_kubectl_applied(d) for d in docs])
    for kind in {d["kind"] for d in docs}:
        for body in store.items(kind):
            assert "managedFields" not in body["metadata"]
            assert LAST_APPLIED not in body["metadata"].get("annotations", {})
    assert read_state(store, Settings()).snapshot == _ingested(docs)


def test_objects_are_parsed_again_only_when_their_version_moves() -> None:
    docs = _documents(CASES[0])
    store = _store(docs)
    cache = ParseCache()
    first = read_state(store, Settings(), cache).snapshot
    assert cache.parsed == len([d for d in docs if d["kind"] != "ConfigMap"])
    again = read_state(store, Settings(), cache).snapshot
    assert cache.parsed == 0
    assert again == first

    route = next(d for d in docs if d["kind"] == "Route")
    changed = copy.deepcopy(route)
    changed["metadata"]["resourceVersion"] = "999"
    changed["spec"]["hostnames"] = ["changed.example.com"]
    store.observe("Route", "MODIFIED", changed)
    after = read_state(store, Settings(), cache).snapshot
    assert cache.parsed == 1
    assert after.routes != first.routes


def test_a_deleted_object_leaves_the_parse_cache() -> None:
    docs = _documents(CASES[0])
    store = _store(docs)
    cache = ParseCache()
    read_state(store, Settings(), cache)
    route = next(d for d in docs if d["kind"] == "Route")
    gone = copy.deepcopy(route)
    gone["metadata"]["resourceVersion"] = "999"
    store.observe("Route", "DELETED", gone)
    snapshot = read_state(store, Settings(), cache).snapshot
    assert route["metadata"]["name"] not in {r.meta.name for r in snapshot.routes}
    assert ("Route", "shop", route["metadata"]["name"]) not in cache._entries
