"""Control-plane faults as a user meets them, and what must hold through them.

`RouteStream` is the user editing Routes: server-side applies and deletes through the API
server, each retried while the API server cannot be reached (as a GitOps controller or a
patient user would), counting the changes it got accepted. `PacedClient` is a client of the
gateway: requests at a fixed rate from a thread, every failure recorded. `pure_compile` is what
the operator must converge to: the compile package run on the final manifests of the stream
(plus what the cluster decided by itself: EndpointSlices, Pods, creation times). Every loop is
bounded in count and in time.

This module must never write what the operator generates, and never signal a process it cannot
prove the node agent started for this session.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
import yaml
from compiled_snapshot import snapshot
from harness.session import NodeAgent
from helm_release import Release
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException
from scenario_kit import User, request

from meshgate.compile import compile_snapshot
from meshgate.compile.result import CompileResult

Body = dict[str, Any]
HERE = Path(__file__).resolve().parent
STAGE = HERE / "stage"
GROUP_VERSION = "meshgate.io/v1alpha1"
PORT = 8080
# How long one change may keep failing (the API server or etcd is down) before the test fails.
CHANGE_DEADLINE = 120.0
RETRY_EVERY = 0.25


@dataclass(frozen=True)
class Stage:
    """What a fault test starts from (the `stage` fixture): the user, the chart's release, the
    node agent, and the gateway Pod's address."""

    user: User
    release: Release
    agent: NodeAgent
    gateway_address: str


class Unreachable(Exception):
    """The API server did not answer (refused, reset, or a 5xx while its storage is away)."""


def _call(api: ApiClient, method: str, path: str, body: Body | None, content_type: str) -> Body:
    method, url, headers, payload, _ = api.param_serialize(
        method=method,
        resource_path=path,
        query_params=[("fieldManager", "fault-test-user"), ("force", "true")]
        if method == "PATCH"
        else [],
        header_params={"Content-Type": content_type, "Accept": "application/json"},
        body=body,
        auth_settings=["BearerToken"],
    )
    try:
        response = api.call_api(method, url, header_params=headers, body=payload)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise Unreachable(type(exc).__name__) from exc
    except ApiException as exc:  # the client's own wrapping of TLS errors (status 0)
        raise Unreachable(str(exc.reason)) from exc
    raw = response.read()
    if response.status >= 500 or response.status == 429:
        raise Unreachable(f"{response.status} {raw[:200]!r}")
    if response.status == 404 and method == "DELETE":
        return {}  # a retried delete whose first try had landed
    if not 200 <= response.status < 300:
        raise AssertionError(f"{method} {path}: {response.status} {raw.decode()[:500]}")
    return json.loads(raw) if raw else {}


def route(name: str, gateway: str, backend: str, path: str) -> Body:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "Route",
        "metadata": {"name": name},
        "spec": {
            "parentRefs": [{"name": gateway}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                    "backendRefs": [{"name": backend, "port": 8080}],
                }
            ],
        },
    }


def route_paths(doc: Body) -> set[str]:
    return {m["path"]["value"] for r in doc["spec"]["rules"] for m in r["matches"]}


@dataclass
class RouteStream:
    """The user's stream of Route changes, and the final state it leaves behind."""

    api: ApiClient
    namespace: str
    gateway: str
    backend: str
    # Route name -> the manifest last applied; a deleted Route is absent.
    desired: dict[str, Body] = field(default_factory=dict)
    changes: int = 0
    retries: int = 0
    # Every path a change ever routed: those of the final Routes answer, the others 404.
    paths: set[str] = field(default_factory=set)
    # (first try, accepted) of each change, monotonic seconds: which ones met a fault.
    spans: list[tuple[float, float]] = field(default_factory=list)

    def during(self, start: float, end: float) -> int:
        """How many changes were in flight at some moment between `start` and `end`."""
        return sum(1 for first, done in self.spans if first < end and done > start)

    def _path(self, name: str = "") -> str:
        base = f"/apis/{GROUP_VERSION}/namespaces/{self.namespace}/routes"
        return f"{base}/{name}" if name else base

    def _retrying(self, method: str, name: str, body: Body | None, content_type: str) -> None:
        first = time.monotonic()
        deadline = first + CHANGE_DEADLINE
        while True:
            try:
                _call(self.api, method, self._path(name), body, content_type)
                self.spans.append((first, time.monotonic()))
                return
            except Unreachable as exc:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{method} route {name} failed for {CHANGE_DEADLINE:.0f}s: {exc}"
                    ) from exc
                self.retries += 1
                time.sleep(RETRY_EVERY)

    def apply(self, doc: Body) -> None:
        name = doc["metadata"]["name"]
        self._retrying("PATCH", name, doc, "application/apply-patch+yaml")
        self.desired[name] = doc
        self.paths.update(route_paths(doc))
        self.changes += 1

    def delete(self, name: str) -> None:
        self._retrying("DELETE", name, {"propagationPolicy": "Background"}, "application/json")
        self.desired.pop(name, None)
        self.changes += 1

    def step(self, index: int) -> None:
        """Change number `index` of a stream over six Route names: every seventh change deletes
        one, the others create or edit one onto a path no change used before."""
        name = f"churn-{index % 6}"
        if index % 7 == 6:
            self.delete(name)
        else:
            self.apply(route(name, self.gateway, self.backend, f"/churn/{index}"))


@dataclass
class PacedClient:
    """GET `path` at `address:port` `rate` times a second from a thread, until stopped, for at
    most `max_requests` requests and `max_seconds` seconds. A failure is anything but a 200."""

    address: str
    port: int
    path: str
    rate: float = 20.0
    max_requests: int = 20_000
    max_seconds: float = 900.0
    sent: int = 0
    failures: list[tuple[float, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        start = time.monotonic()
        for n in range(self.max_requests):
            due = start + n / self.rate
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            if time.monotonic() - start > self.max_seconds:
                return
            self.sent += 1
            try:
                answer = request(self.address, self.port, self.path, timeout=5.0)
            except OSError as exc:
                self.failures.append((time.monotonic(), repr(exc)))
                continue
            if answer.status != 200:
                self.failures.append((time.monotonic(), f"{answer.status} {answer.body[:100]!r}"))

    def __enter__(self) -> PacedClient:
        self._thread = threading.Thread(target=self._run, name="fault-client", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def manifests(folder: Path = STAGE) -> list[Body]:
    docs: list[Body] = []
    for path in sorted(folder.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def pure_compile(
    namespace: str, desired: list[Body], cluster: Callable[[str], list[Body]]
) -> CompileResult:
    """The compile package on the final state: the user's manifests (`desired`), and what the
    cluster made by itself, read through `cluster(resource)`: EndpointSlices, Pods, the
    Namespace, and each meshgate object's creation time (the tie-break of route precedence)."""
    docs = [copy.deepcopy(d) for d in desired]
    made = {
        (o["kind"], o["metadata"]["name"]): o["metadata"]
        for resource in ("routes.meshgate.io", "gateways.meshgate.io")
        for o in cluster(resource)
    }
    for doc in docs:
        meta = doc.setdefault("metadata", {})
        meta["namespace"] = namespace
        stored = made.get((doc["kind"], meta["name"]))
        if stored is not None:
            meta["creationTimestamp"] = stored["creationTimestamp"]
    for resource in ("endpointslices", "pods"):
        docs += cluster(resource)
    docs += cluster("namespaces")
    return compile_snapshot(snapshot(docs, namespace))


def generated_config(api: ApiClient, namespace: str, gateway: str) -> str | None:
    """The config.json the operator wrote for `gateway`, or None while there is none."""
    try:
        cm = _call(
            api,
            "GET",
            f"/api/v1/namespaces/{namespace}/configmaps/meshgate-gw-{gateway}",
            None,
            "application/json",
        )
    except (Unreachable, AssertionError):
        return None
    text: str | None = (cm.get("data") or {}).get("config.json")
    return text


def config_version(text: str | None) -> str | None:
    return json.loads(text)["version"] if text else None


@dataclass(frozen=True)
class OperatorProcess:
    """The operator's container process, as the node agent reports it (`local://<pid>`)."""

    pid: int
    pod: str


def operator_process(pods: list[Body], agent_pid: int) -> OperatorProcess | None:
    """The running operator container's process, once it is running and provably the node
    agent's child (so a recycled PID of someone else's is never signalled)."""
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            container_id = status.get("containerID") or ""
            if not container_id.startswith("local://") or "running" not in (
                status.get("state") or {}
            ):
                continue
            pid = int(container_id.removeprefix("local://"))
            if _parent_of(pid) == agent_pid:
                return OperatorProcess(pid, pod["metadata"]["name"])
    return None


def _parent_of(pid: int) -> int | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(raw[raw.rindex(")") + 2 :].split()[1])


def sigkill(process: OperatorProcess, agent_pid: int) -> bool:
    """SIGKILL the operator, as an OOM kill would; False when it had already gone."""
    if _parent_of(process.pid) != agent_pid:
        return False
    try:
        os.kill(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True
