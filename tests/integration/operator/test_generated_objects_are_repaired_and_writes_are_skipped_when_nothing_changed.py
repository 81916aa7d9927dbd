"""Drift is repaired (a deleted or edited generated ConfigMap comes back as it was), and a
resync with nothing changed writes neither objects nor status nor events."""

from __future__ import annotations

import json
import time
import urllib.request

from kubernetes.client import ApiClient
from manifests import API, endpoint_slice, gateway, route, service
from operator_harness import OperatorProcess, apply, call, delete, eventually, get


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"metric {name} not exported")


def test_deleted_and_edited_configmap_come_back(
    api_client: ApiClient, namespace: str, running_operator: OperatorProcess
) -> None:
    ns = namespace
    apply(api_client, service("orders"), ns)
    apply(api_client, endpoint_slice("orders", "10.9.0.1"), ns)
    apply(api_client, gateway(replicas=1), ns)
    apply(api_client, route("orders", "orders"), ns)
    original = eventually(
        lambda: (
            (cm := get(api_client, "ConfigMap", "v1", ns, "meshgate-gw-edge"))
            and json.loads(cm["data"]["config.json"])["clusters"]
            and cm
        ),
        timeout=20,
        what="generated ConfigMap",
    )

    delete(api_client, "ConfigMap", "v1", ns, "meshgate-gw-edge")
    back = eventually(
        lambda: (
            (cm := get(api_client, "ConfigMap", "v1", ns, "meshgate-gw-edge"))
            and cm["metadata"]["uid"] != original["metadata"]["uid"]
            and cm
        ),
        timeout=10,
        what="deleted ConfigMap recreated",
    )
    assert back["data"] == original["data"]

    # Someone edits the data by hand (keeping the annotation): the periodic resync repairs it.
    call(
        api_client,
        "PATCH",
        f"/api/v1/namespaces/{ns}/configmaps/meshgate-gw-edge",
        body={"data": {"config.json": "{}"}},
        content_type="application/merge-patch+json",
    )
    repaired = eventually(
        lambda: (
            (cm := get(api_client, "ConfigMap", "v1", ns, "meshgate-gw-edge"))
            and cm["data"] == original["data"]
            and cm
        ),
        timeout=15,
        what="edited ConfigMap repaired by resync",
    )
    assert repaired["data"] == original["data"]


def test_resync_with_no_change_writes_nothing(
    api_client: ApiClient, namespace: str, running_operator: OperatorProcess
) -> None:
    ns = namespace
    apply(api_client, service("orders"), ns)
    apply(api_client, gateway(replicas=1), ns)
    apply(api_client, route("orders", "orders"), ns)
    port = running_operator.metrics_port
    eventually(
        lambda: (r := get(api_client, "Route", API, ns, "orders")) and r.get("status"),
        timeout=20,
        what="route status",
    )
    # Let the first burst settle: two resyncs (3 s each) in a row without a write.
    settled = {"writes": -1.0, "status": -1.0, "reconciles": 0.0}

    def quiet() -> bool:
        writes = _metric(port, "meshgate_object_writes_total")
        status = _metric(port, "meshgate_status_writes_total")
        reconciles = _metric(port, "meshgate_reconciles_total")
        same = (writes, status) == (settled["writes"], settled["status"])
        if not same or reconciles == settled["reconciles"]:
            settled.update(writes=writes, status=status, reconciles=reconciles)
            return False
        return reconciles >= settled["reconciles"] + 2

    eventually(quiet, timeout=30, what="two reconciles in a row that wrote nothing")
    rv = get(api_client, "Route", API, ns, "orders")["metadata"]["resourceVersion"]  # type: ignore[index]
    events_before = len(
        call(api_client, "GET", f"/apis/events.k8s.io/v1/namespaces/{ns}/events")["items"]
    )
    writes = _metric(port, "meshgate_object_writes_total")
    status_writes = _metric(port, "meshgate_status_writes_total")
    # Wait past one full resync period (3 s): that reconcile re-applies everything by force.
    start = time.monotonic()
    reconciles = _metric(port, "meshgate_reconciles_total")
    eventually(
        lambda: (
            time.monotonic() - start > 3.5
            and _metric(port, "meshgate_reconciles_total") >= reconciles + 1
        ),
        timeout=15,
        what="a forced resync",
    )
    assert _metric(port, "meshgate_object_writes_total") == writes
    assert _metric(port, "meshgate_status_writes_total") == status_writes
    assert get(api_client, "Route", API, ns, "orders")["metadata"]["resourceVersion"] == rv  # type: ignore[index]
    events_after = len(
        call(api_client, "GET", f"/apis/events.k8s.io/v1/namespaces/{ns}/events")["items"]
    )
    assert events_after == events_before
