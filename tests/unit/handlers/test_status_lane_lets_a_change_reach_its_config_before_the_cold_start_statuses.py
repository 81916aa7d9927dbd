"""With the status lane, a reconcile writes configs and hands statuses to the lane's thread:
a change made while a cold start's statuses are still being written reaches its ConfigMap at
once, and the lane then writes each object's latest status once, skipping unchanged ones.
Events mark transitions: a first status posts Warnings for what is wrong, never a Normal
event for what is fine."""

from __future__ import annotations

import threading
from typing import Any

from fake_kube_api import FakeKubeApi

from meshgate.handlers.reconcile import Reconciler
from meshgate.kube.rest import Kind
from meshgate.settings import Settings

NS = "shop"
API = "meshgate.io/v1alpha1"
ROUTES = 12


class GatedApi(FakeKubeApi):
    """Status writes wait for `gate`; every call is serialised (two threads use it)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.lock = threading.RLock()
        self.events: list[dict[str, Any]] = []

    def apply(self, obj: dict[str, Any], *, status: bool = False) -> dict[str, Any]:
        if status:
            assert self.gate.wait(10), "status write never released"
        with self.lock:
            return super().apply(obj, status=status)

    def create(self, kind: Kind, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if kind.kind == "Event":
                self.events.append(body)
            return super().create(kind, namespace, body)

    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return super().put(body)


def _route(name: str, path: str, backend: str = "orders") -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Route",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "parentRefs": [{"name": "edge"}],
            "hostnames": ["shop.example.com"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                    "backendRefs": [{"name": backend, "port": 8080}],
                }
            ],
        },
    }


def _cluster(api: FakeKubeApi) -> None:
    api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    api.put(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "orders", "namespace": NS},
            "spec": {"ports": [{"name": "http", "port": 8080, "targetPort": 8080}]},
        }
    )
    api.put(
        {
            "apiVersion": API,
            "kind": "Gateway",
            "metadata": {"name": "edge", "namespace": NS},
            "spec": {
                "replicas": 1,
                "listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}],
            },
        }
    )
    for i in range(ROUTES):
        api.put(_route(f"r{i}", f"/r{i}"))


def _config(api: FakeKubeApi) -> str:
    cm = api.get("ConfigMap", NS, "meshgate-gw-edge")
    assert cm is not None
    return str(cm["data"]["config.json"])


def test_a_change_reaches_its_config_while_statuses_wait_then_each_latest_status_is_written() -> (
    None
):
    api = GatedApi()
    _cluster(api)
    rec = Reconciler(rest=api, settings=Settings(namespaces=(NS,)))
    rec.start_status_lane(rate=0)
    try:
        first = rec.run(force=True)
        assert first["status_written"] == 0  # handed to the lane, still waiting at the gate
        rec.store.observe("Route", "MODIFIED", api.put(_route("r3", "/changed")))
        rec.run()
        assert '"value":"/changed"' in _config(api)  # while no status has been written yet
        assert api.calls["status"] <= 1
        api.gate.set()
        assert rec.lane is not None
        assert rec.lane.idle(timeout=10)
        for i in range(ROUTES):
            route = api.get("Route", NS, f"r{i}")
            assert route is not None
            assert route["status"]["observedGeneration"] == route["metadata"]["generation"]
        # One write per object (Gateway + Routes), plus at most the one in flight when the
        # change superseded the first batch.
        assert api.calls["status"] <= ROUTES + 2
        written = api.calls["status"]
        rec.run(force=True)
        assert rec.lane.idle(timeout=10)
        assert api.calls["status"] == written  # nothing changed: nothing written
    finally:
        rec.close()


def test_events_mark_transitions_not_a_first_status_that_is_fine() -> None:
    api = GatedApi()
    api.gate.set()
    _cluster(api)
    api.put(_route("broken", "/broken", backend="missing"))
    rec = Reconciler(rest=api, settings=Settings(namespaces=(NS,)))
    rec.start_status_lane(rate=0)
    try:
        rec.run(force=True)
        assert rec.lane is not None
        assert rec.lane.idle(timeout=10)
        reasons = sorted((e["regarding"]["name"], e["reason"]) for e in api.events)
        assert ("broken", "BackendNotFound") in reasons
        # Only what is wrong on first sight (here also NoReadyEndpoints: no endpoints exist).
        assert [e for e in api.events if e["type"] == "Normal"] == []
        assert {e["type"] for e in api.events} == {"Warning"}
    finally:
        rec.close()
