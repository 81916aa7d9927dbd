"""After the first full listing, a reconcile for a change lists nothing: it reads the store that
watch events (and the answers to its own writes) keep. A forced reconcile lists everything again,
and that listing repairs whatever the events missed; the runtime's periodic resync lists in its
own thread, so changes are served meanwhile."""

from __future__ import annotations

import json
import threading
from typing import Any

from fake_kube_api import FakeKubeApi

from meshgate.handlers.reconcile import Reconciler
from meshgate.kube.listing import LISTED
from meshgate.kube.rest import Kind
from meshgate.runtime import Wake
from meshgate.settings import Settings

NS = "shop"
API = "meshgate.io/v1alpha1"


def _gateway() -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Gateway",
        "metadata": {"name": "edge", "namespace": NS},
        "spec": {
            "replicas": 1,
            "service": {"type": "ClusterIP"},
            "listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}],
        },
    }


def _route(name: str, path: str) -> dict[str, Any]:
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
                    "backendRefs": [{"name": "orders", "port": 8080}],
                }
            ],
        },
    }


def _cluster() -> FakeKubeApi:
    api = FakeKubeApi()
    api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    api.put(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "orders", "namespace": NS},
            "spec": {"ports": [{"name": "http", "port": 8080, "targetPort": 8080}]},
        }
    )
    api.put(_gateway())
    api.put(_route("orders", "/orders"))
    return api


def _served_paths(api: FakeKubeApi) -> set[str]:
    cm = api.get("ConfigMap", NS, "meshgate-gw-edge")
    assert cm is not None
    text = cm["data"]["config.json"]
    return {p for p in ("/orders", "/v2/orders", "/carts") if f'"value":"{p}"' in text}


def _reconciler(api: FakeKubeApi) -> Reconciler:
    return Reconciler(rest=api, settings=Settings(namespaces=(NS,)))


def test_changes_after_the_first_listing_are_reconciled_without_list_calls() -> None:
    api = _cluster()
    rec = _reconciler(api)
    rec.run(force=True)
    assert api.calls["list"] == len(LISTED)
    assert _served_paths(api) == {"/orders"}

    for path in ("/v2/orders", "/carts"):
        # What the watch handler does with the event a user's edit causes.
        rec.store.observe("Route", "MODIFIED", api.put(_route("orders", path)))
        rec.run()
        assert _served_paths(api) == {path}
    assert api.calls["list"] == len(LISTED)  # still only the first listing


def test_a_forced_reconcile_lists_again_and_repairs_a_missed_event() -> None:
    api = _cluster()
    rec = _reconciler(api)
    rec.run(force=True)
    api.put(_route("orders", "/carts"))  # the watch event for this edit never arrives
    rec.run()
    assert _served_paths(api) == {"/orders"}  # the store does not know yet
    rec.run(force=True)
    assert api.calls["list"] == 2 * len(LISTED)
    assert _served_paths(api) == {"/carts"}


def test_own_writes_update_the_store_so_an_unchanged_cluster_writes_nothing() -> None:
    api = _cluster()
    rec = _reconciler(api)
    first = rec.run(force=True)
    assert first["status_written"] == 2  # the Gateway and the Route
    rec.run()  # the Gateway now reports what its generated Service and Deployment say
    writes = api.calls["apply"] + api.calls["status"] + api.calls["event"]
    # No watch events delivered at all: the answers to the writes alone keep the store current.
    again = rec.run()
    assert again["status_written"] == 0
    assert again["applied"] == []
    assert again["events"] == 0
    assert api.calls["apply"] + api.calls["status"] + api.calls["event"] == writes


def test_a_deleted_route_leaves_the_config_without_a_listing() -> None:
    api = _cluster()
    rec = _reconciler(api)
    rec.run(force=True)
    api.put(_route("carts", "/carts"))
    rec.store.observe("Route", "ADDED", api.get("Route", NS, "carts") or {})
    rec.run()
    assert _served_paths(api) == {"/orders", "/carts"}
    rec.store.observe("Route", "DELETED", api.remove("Route", NS, "carts"))
    summary = rec.run()
    assert _served_paths(api) == {"/orders"}
    assert api.calls["list"] == len(LISTED)
    assert json.dumps(summary["errors"]) == "[]"


def test_a_status_edited_by_someone_else_is_written_back_from_the_store() -> None:
    api = _cluster()
    rec = _reconciler(api)
    rec.run(force=True)
    rec.run()
    route = api.get("Route", NS, "orders")
    assert route is not None
    edited = api.apply({**route, "status": {"conditions": []}}, status=True)
    rec.store.observe("Route", "MODIFIED", edited)  # the watch event of that edit
    again = rec.run()
    assert again["status_written"] == 1
    restored = api.get("Route", NS, "orders")
    assert restored is not None

    def outcome(status: dict[str, Any]) -> list[tuple[str, str, str]]:
        return [(c["type"], c["status"], c["reason"]) for c in status["conditions"]]

    assert outcome(restored["status"]) == outcome(route["status"])


class _SlowListing(FakeKubeApi):
    """List calls wait for `gate` once it is closed: a resync's listing that takes its time."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()

    def list_versioned(self, kind: Kind, namespace: str | None = None, **kw: Any) -> Any:
        assert self.gate.wait(10), "the listing was never released"
        return super().list_versioned(kind, namespace, **kw)


def test_a_resyncs_listing_runs_beside_the_changes_and_its_repair_follows_when_it_ends() -> None:
    api = _SlowListing()
    for body in _cluster().objects.values():
        api.put(body)
    rec = _reconciler(api)
    rec.reconcile(Wake(force=True))  # the first listing is part of the first run
    assert _served_paths(api) == {"/orders"}
    api.put(_route("orders", "/carts"))  # its watch event never arrives

    api.gate.clear()
    again = rec.reconcile(Wake(force=True))  # the periodic resync: it lists in its own thread
    assert again is not None  # ... and asks to be woken to see the listing end
    edit = api.put(_route("carts", "/v2/orders"))
    rec.store.observe("Route", "ADDED", edit)
    rec.reconcile(Wake(changed=frozenset({("Route", NS, "carts")})))
    # The change is served while the listing still waits; the missed edit is not yet known.
    assert _served_paths(api) == {"/orders", "/v2/orders"}

    api.gate.set()
    assert rec.relisting is not None
    rec.relisting.join(10)
    assert rec.reconcile(Wake()) is None  # the listing ended: this run compiles its repair
    assert _served_paths(api) == {"/carts", "/v2/orders"}
