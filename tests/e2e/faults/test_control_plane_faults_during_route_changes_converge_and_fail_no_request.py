"""Control-plane faults during a stream of Route changes: kube-apiserver restarted, etcd
restarted, the operator SIGKILLed 20 times. Through each, a client sends requests through the
gateway without a single failure (the data plane never needs the control plane), and afterwards
the operator has converged to exactly what a pure compile of the final manifests gives: the
same config hash and config bytes in the gateway's ConfigMap, every Route's status caught up
with its generation and saying what the compile says, and the proxy serving the final Routes.

Each test prints one line of counts (changes made, requests sent, failed requests, hashes equal).

Manifests: `stage/` (one echo backend, the Gateway `steady`, the Route `stable`); the changing
Routes are built by `fault_kit.RouteStream`.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from fault_kit import (
    PORT,
    OperatorProcess,
    PacedClient,
    RouteStream,
    Stage,
    config_version,
    generated_config,
    manifests,
    operator_process,
    pure_compile,
    route_paths,
    sigkill,
)
from kubernetes.client import ApiClient
from scenario_kit import request

from meshgate.localcluster.cluster import LocalCluster
from meshgate.localcluster.waiting import WaitTimeout, wait_for

CHANGES = 40
# The most changes the operator test makes while waiting for restarts (a change each 0.5 s).
MAX_CHANGES = 600
OPERATOR_KILLS = 20
# The whole stream, faults included, and the convergence after it: generous bounds for a
# machine under load; what they bound is waiting, never a pass.
CONVERGE_TIMEOUT = 180.0
CLIENT_MAX_SECONDS = 1200.0


def test_kube_apiserver_restarted_during_route_changes(
    stage: Stage, api_client: ApiClient, kube_cluster: LocalCluster
) -> None:
    _restart_during_stream(stage, api_client, kube_cluster, "kube-apiserver")


def test_etcd_restarted_during_route_changes(
    stage: Stage, api_client: ApiClient, kube_cluster: LocalCluster
) -> None:
    _restart_during_stream(stage, api_client, kube_cluster, "etcd")


def test_operator_sigkilled_20_times_during_route_changes(
    stage: Stage, api_client: ApiClient
) -> None:
    stream = RouteStream(api_client, stage.user.namespace, "steady", "orders")
    pick = random.Random(17)
    kills = 0
    last_pid = 0
    with PacedClient(
        stage.gateway_address, PORT, "/stable/ping", max_seconds=CLIENT_MAX_SECONDS
    ) as client:
        index = 0
        for _ in range(OPERATOR_KILLS):
            process, index = _operator_back(stage, stream, index, last_pid)
            # Then a moment of work (none, a change or two, a reconcile) before the next kill:
            # kills land in its startup, in a reconcile and between them.
            for _ in range(pick.randint(0, 2)):
                stream.step(index)
                index += 1
            time.sleep(pick.uniform(0.0, 2.0))
            if sigkill(process, stage.agent.pid):
                kills += 1
            last_pid = process.pid
        for _ in range(max(0, CHANGES - index)):
            stream.step(index)
            index += 1
        wait_for(stage.release.ready_operator_pods, timeout=120, what="the operator Ready")
        equal = _converged(stage, stream)
        _report(f"operator SIGKILLed {kills} times", stream, client, equal)
    assert kills == OPERATOR_KILLS
    assert client.failures == [], client.failures[:5]


def _operator_back(
    stage: Stage, stream: RouteStream, index: int, killed: int
) -> tuple[OperatorProcess, int]:
    """Wait for the node agent to run the operator again (it restarts it with a growing
    back-off), making changes meanwhile; the new process and the next change's index."""
    while True:
        found = operator_process(stage.release.operator_pods(), stage.agent.pid)
        if found is not None and found.pid != killed:
            return found, index
        if index >= MAX_CHANGES:
            raise AssertionError(f"the operator was not back after {index} changes")
        stream.step(index)
        index += 1
        time.sleep(0.5)


def _restart_during_stream(
    stage: Stage, api_client: ApiClient, cluster: LocalCluster, component: str
) -> None:
    stream = RouteStream(api_client, stage.user.namespace, "steady", "orders")
    started = threading.Event()
    errors: list[BaseException] = []

    def changes() -> None:
        try:
            for index in range(CHANGES):
                if index == CHANGES // 4:
                    started.set()
                stream.step(index)  # retried while the component is down
                time.sleep(0.1)
        except BaseException as exc:
            errors.append(exc)
        finally:
            started.set()

    # The restart runs on this thread: a process started by a thread that then ends would get
    # the parent-death signal the fixtures' processes carry (PR_SET_PDEATHSIG is per thread).
    user_thread = threading.Thread(target=changes, name="route-changes", daemon=True)
    with PacedClient(
        stage.gateway_address, PORT, "/stable/ping", max_seconds=CLIENT_MAX_SECONDS
    ) as client:
        user_thread.start()
        started.wait(timeout=120)
        stopped = time.monotonic()
        back_in = cluster.restart(component, down_for=3.0)
        user_thread.join(timeout=CHANGES * 130)
        assert not user_thread.is_alive(), "the stream of changes never ended"
        assert not errors, errors
        met = stream.during(stopped, stopped + back_in)
        equal = _converged(stage, stream)
        _report(
            f"{component} restarted (back in {back_in:.1f}s, {met} changes in flight meanwhile)",
            stream,
            client,
            equal,
        )
    assert met > 0, "no change was in flight during the restart: the fault missed the stream"
    assert client.failures == [], client.failures[:5]


def _converged(stage: Stage, stream: RouteStream) -> bool:
    """Wait until the operator's config is the pure compile's, then check statuses and traffic;
    True when the hashes are equal (a mismatch fails with both versions)."""
    user = stage.user
    desired = [d for d in manifests() if d["kind"] != "Deployment"]
    desired += list(stream.desired.values())

    def cluster(resource: str) -> list[dict[str, Any]]:
        if resource == "namespaces":
            return [user.get("namespace", user.namespace)]
        items: list[dict[str, Any]] = user.get(resource)["items"]
        return items

    want = pure_compile(user.namespace, desired, cluster)
    (gateway,) = want.gateways
    try:
        wait_for(
            lambda: (
                config_version(generated_config(stream.api, user.namespace, "steady"))
                == gateway.version
            ),
            timeout=CONVERGE_TIMEOUT,
            what=f"the operator's config at the pure compile's version {gateway.version}",
        )
    except WaitTimeout as exc:
        have = config_version(generated_config(stream.api, user.namespace, "steady"))
        raise AssertionError(f"{exc}; the operator wrote {have}") from exc
    assert generated_config(stream.api, user.namespace, "steady") == gateway.config_json
    _statuses_caught_up(stage, want.statuses)
    _serves_the_final_routes(stage, stream)
    return True


def _statuses_caught_up(stage: Stage, compiled: Any) -> None:
    want = {
        s.name: {(c["type"], c["status"], c["reason"]) for c in s.body()["conditions"]}
        for s in compiled
        if s.kind == "Route" and s.namespace == stage.user.namespace
    }

    def caught_up() -> bool:
        for item in stage.user.get("routes.meshgate.io")["items"]:
            generation = item["metadata"]["generation"]
            conditions = (item.get("status") or {}).get("conditions") or []
            if any(c.get("observedGeneration") != generation for c in conditions):
                return False
            have = {(c["type"], c["status"], c["reason"]) for c in conditions}
            if have != want.get(item["metadata"]["name"]):
                return False
        return True

    wait_for(caught_up, timeout=CONVERGE_TIMEOUT, what="every Route's status as compiled")


def _serves_the_final_routes(stage: Stage, stream: RouteStream) -> None:
    """The proxy took the final config: the paths of the final Routes answer, every path an
    earlier change routed (edited away or deleted since) is a 404."""
    final = set().union(*(route_paths(d) for d in stream.desired.values()))
    want = {path: 200 if path in final else 404 for path in stream.paths}

    def served() -> bool:
        return all(
            request(stage.gateway_address, PORT, f"{p}/x").status == s for p, s in want.items()
        )

    wait_for(served, timeout=60, what="the gateway serving exactly the final Routes")


def _report(fault: str, stream: RouteStream, client: PacedClient, equal: bool) -> None:
    print(
        f"\nfaults: {fault}: changes made {stream.changes} (retried {stream.retries} times), "
        f"requests sent {client.sent}, failed requests: {len(client.failures)}, "
        f"hashes equal: {equal}"
    )
