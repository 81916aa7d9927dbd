"""Operator down: with the operator scaled to zero (`kubectl scale deployment meshgate
--replicas=0`), the gateway keeps serving its last config, without a single failed request; when
the operator comes back it reconciles and writes nothing, because everything was already right:
every generated object keeps its resourceVersion and config version.

Manifests: `operator_down/` (two versions of orders, a Gateway and a Route per version).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helm_release import Release
from scenario_kit import Answer, User, load, metric_sum, request

from meshgate.localcluster.waiting import wait_for

PORT = 8080
GENERATED = "app.kubernetes.io/managed-by=meshgate"
VERSION_ANNOTATION = "meshgate.io/config-version"


@pytest.fixture
def operator_back(meshgate_release: Release) -> Iterator[None]:
    """Whatever the test does to the operator, the session gets it back, Ready and injecting:
    the next test may apply a labelled namespace and its Deployments at once, and a Pod created
    before the restarted operator's webhook answers is admitted without its sidecar (Ignore)."""
    wanted = meshgate_release.wanted_replicas()
    try:
        yield
    finally:
        if meshgate_release.wanted_replicas() != wanted:
            meshgate_release.scale_operator(wanted)
        wait_for(meshgate_release.ready_operator_pods, timeout=90, what="the operator back")
        meshgate_release.wait_until_injecting(90)


def _generated(user: User) -> dict[str, tuple[str, str]]:
    """kind/name -> (resourceVersion, config version) of what the operator made here."""
    found = {}
    for kind in ("configmaps", "deployments", "services", "secrets"):
        for obj in user.get(kind, selector=GENERATED)["items"]:
            meta = obj["metadata"]
            version = (meta.get("annotations") or {}).get(VERSION_ANNOTATION, "")
            found[f"{kind}/{meta['name']}"] = (meta["resourceVersion"], version)
    return found


def _both_versions(address: str) -> Answer:
    v1 = request(address, PORT, "/v1/orders")
    v2 = request(address, PORT, "/v2/orders")
    ok = v1.status == v2.status == 200
    right = ok and v1.json()["version"] == "v1" and v2.json()["version"] == "v2"
    return Answer(200 if right else 500, {}, v1.body + v2.body)


def test_operator_down_keeps_traffic_on_the_last_config_and_restart_changes_nothing(
    user: User, meshgate_release: Release, operator_back: None
) -> None:
    user.apply("operator_down")
    user.ready_pods("app=orders", 2)
    for route in ("orders-v1", "orders-v2"):
        user.condition("routes", route, "ResolvedRefs")
    user.condition("gateways.meshgate.io", "steady", "Programmed", timeout=60)
    gateway_pod = user.gateway_pods("steady")[0]
    address = gateway_pod["status"]["podIP"]
    user.answer_within(lambda: _both_versions(address), 200, 15, "both versions at the gateway")
    before = _generated(user)
    assert any(k.startswith("configmaps/") and v[1] for k, v in before.items()), before

    with load(lambda: _both_versions(address)) as client:
        meshgate_release.scale_operator(0)
        wait_for(
            lambda: meshgate_release.operator_pods() == [],
            timeout=60,
            what="every operator Pod gone",
        )
        # Down: the data plane keeps answering on its own.
        served_while_down = len(client.outcomes)
        wait_for(
            lambda: len(client.outcomes) >= served_while_down + 40,
            timeout=30,
            what="40 more answers with the operator down",
        )
        meshgate_release.scale_operator(1)
        pods = wait_for(
            meshgate_release.ready_operator_pods, timeout=90, what="the operator Ready again"
        )
        metrics_at = _operator_metrics_address(pods[0])
        wait_for(
            lambda: _reconciled(metrics_at),
            timeout=30,
            what="the restarted operator's first successful reconcile",
        )

    assert client.errors == [], client.errors[:5]
    assert client.statuses() == {200: len(client.outcomes)}, client.statuses()
    # Restarted and reconciled, the operator found this namespace already right: every object
    # it generated here keeps its resourceVersion and config version. (Its cluster-wide write
    # counter is not asserted: earlier scenarios' namespaces may still be terminating.)
    assert _generated(user) == before
    # The gateway Pod is the one from before: nothing rolled it.
    assert user.gateway_pods("steady")[0]["metadata"]["uid"] == gateway_pod["metadata"]["uid"]


def _operator_metrics_address(pod: dict[str, object]) -> tuple[str, int]:
    spec = pod["spec"]
    status = pod["status"]
    assert isinstance(spec, dict)
    assert isinstance(status, dict)
    ports = {p["name"]: p["containerPort"] for c in spec["containers"] for p in c["ports"]}
    return str(status["podIP"]), int(ports["health"])


def _operator_metrics(at: tuple[str, int]) -> str:
    return request(at[0], at[1], "/metrics").body.decode()


def _reconciled(at: tuple[str, int]) -> bool:
    try:
        text = _operator_metrics(at)
    except OSError:
        return False
    return metric_sum(text, "meshgate_last_success_timestamp_seconds") > 0
