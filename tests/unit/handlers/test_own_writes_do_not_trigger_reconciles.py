"""Events caused by meshgate's own writes are dropped; real changes and deletions are not."""

from __future__ import annotations

from meshgate.handlers.relevance import HASH_ANNOTATION, Relevance


def _route(generation: int, status: dict[str, object] | None = None) -> dict[str, object]:
    return {
        "kind": "Route",
        "metadata": {"name": "r", "namespace": "shop", "generation": generation},
        "status": status or {},
    }


def test_status_only_update_of_a_custom_object_is_not_relevant() -> None:
    rel = Relevance()
    assert rel.custom("Route", None, _route(1))  # first sight (initial listing)
    assert not rel.custom("Route", "MODIFIED", _route(1, {"observedGeneration": 1}))
    assert rel.custom("Route", "MODIFIED", _route(2))  # spec changed
    assert rel.custom("Route", "DELETED", _route(2))


def _config_map(annotation: str | None) -> dict[str, object]:
    annotations = {HASH_ANNOTATION: annotation} if annotation else {}
    return {
        "kind": "ConfigMap",
        "metadata": {"name": "meshgate-gw-edge", "namespace": "shop", "annotations": annotations},
    }


def test_generated_object_carrying_our_hash_is_not_relevant() -> None:
    rel = Relevance()
    applied = {("ConfigMap", "shop", "meshgate-gw-edge"): "abc"}
    assert not rel.generated("ConfigMap", "MODIFIED", _config_map("abc"), applied)
    assert rel.generated("ConfigMap", "MODIFIED", _config_map("edited"), applied)
    assert rel.generated("ConfigMap", "DELETED", _config_map("abc"), applied)
    assert rel.generated("ConfigMap", None, _config_map("abc"), {})  # unknown after a restart


def test_deployment_ready_replica_change_is_relevant() -> None:
    rel = Relevance()
    key = ("Deployment", "shop", "meshgate-gw-edge")
    body: dict[str, object] = {
        "kind": "Deployment",
        "metadata": {"name": key[2], "namespace": "shop", "annotations": {HASH_ANNOTATION: "h"}},
        "status": {"readyReplicas": 1},
    }
    assert rel.generated("Deployment", "MODIFIED", body, {key: "h"})
    assert not rel.generated("Deployment", "MODIFIED", body, {key: "h"})
    body["status"] = {"readyReplicas": 2}
    assert rel.generated("Deployment", "MODIFIED", body, {key: "h"})
