"""Helpers for the operator integration tests: raw API calls, CRD install, the operator process,
and polling with a deadline (no bare sleeps)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from kubernetes.client import ApiClient

REPO = Path(__file__).resolve().parents[3]
T = TypeVar("T")
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


def call(
    api: ApiClient,
    method: str,
    path: str,
    body: Any = None,
    query: list[tuple[str, str]] | None = None,
    content_type: str = "application/json",
) -> dict[str, Any]:
    method, url, headers, _, _ = api.param_serialize(
        method=method,
        resource_path=path,
        query_params=query or [],
        header_params={"Content-Type": content_type, "Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    # JSON content types are encoded by the client; apply-patch+yaml goes as a string.
    payload = body if body is None or "json" in content_type else json.dumps(body)
    resp = api.call_api(method, url, header_params=headers, body=payload)
    resp.read()  # type: ignore[no-untyped-call]
    data = json.loads(resp.data or b"{}")
    if not 200 <= resp.status < 300:
        raise ApiError(resp.status, str(data.get("message", data)))
    result: dict[str, Any] = data
    return result


PLURALS = {
    "Gateway": "gateways",
    "Route": "routes",
    "DestinationRule": "destinationrules",
    "RetryPolicy": "retrypolicies",
    "Service": "services",
    "ConfigMap": "configmaps",
    "Deployment": "deployments",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "EndpointSlice": "endpointslices",
    "Namespace": "namespaces",
}


def path_of(kind: str, api_version: str, namespace: str, name: str | None = None) -> str:
    base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    ns = f"/namespaces/{namespace}" if kind != "Namespace" else ""
    tail = f"/{name}" if name else ""
    return f"{base}{ns}/{PLURALS[kind]}{tail}"


def apply(api: ApiClient, obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """Server-side apply as a user would (`kubectl apply --server-side`)."""
    obj.setdefault("metadata", {})["namespace"] = namespace
    return call(
        api,
        "PATCH",
        path_of(obj["kind"], obj["apiVersion"], namespace, obj["metadata"]["name"]),
        body=obj,
        query=[("fieldManager", "test-user"), ("force", "true")],
        content_type="application/apply-patch+yaml",
    )


def get(
    api: ApiClient, kind: str, api_version: str, namespace: str, name: str
) -> dict[str, Any] | None:
    try:
        return call(api, "GET", path_of(kind, api_version, namespace, name))
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def delete(api: ApiClient, kind: str, api_version: str, namespace: str, name: str) -> None:
    try:
        call(
            api,
            "DELETE",
            path_of(kind, api_version, namespace, name),
            body={"propagationPolicy": "Background"},
        )
    except ApiError as exc:
        if exc.status != 404:
            raise


def events(api: ApiClient, namespace: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = call(
        api, "GET", f"/apis/events.k8s.io/v1/namespaces/{namespace}/events"
    )["items"]
    return items


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any] | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return dict(c)
    return None


def install_crds(api: ApiClient) -> None:
    for path in sorted((REPO / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        call(
            api,
            "PATCH",
            f"{CRDS}/{crd['metadata']['name']}",
            body=crd,
            query=[("fieldManager", "meshgate-tests"), ("force", "true")],
            content_type="application/apply-patch+yaml",
        )
    for path in sorted((REPO / "crds").glob("*.yaml")):
        name = yaml.safe_load(path.read_text())["metadata"]["name"]

        def established(name: str = name) -> bool:
            crd = call(
                api, "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
            )
            conds = (crd.get("status") or {}).get("conditions") or []
            return any(c["type"] == "Established" and c["status"] == "True" for c in conds)

        eventually(established, timeout=30, what=f"CRD {name} established")


def eventually(check: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """Poll `check` until it returns a truthy value, or fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OperatorProcess:
    """`python -m meshgate.handlers.run` watching one namespace, stopped by its own PID."""

    def __init__(
        self,
        kubeconfig: str,
        namespace: str,
        log_path: Path,
        resync: float = 3.0,
        **env: str,
    ) -> None:
        self.env = {
            **os.environ,
            "KUBECONFIG": kubeconfig,
            "PYTHONUNBUFFERED": "1",
            "MESHGATE_WATCH_NAMESPACES": namespace,
            "MESHGATE_OPERATOR_NAMESPACE": "meshgate-system",
            "MESHGATE_METRICS_PORT": str(free_port()),
            "MESHGATE_RESYNC_SECONDS": str(resync),
            "MESHGATE_PROXY_IMAGE": "meshproxy:test",
            # The injector's webhook is cluster-wide: only tests that exercise it turn it on.
            "MESHGATE_INJECTION_ENABLED": "false",
            **env,
        }
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def metrics_port(self) -> int:
        return int(self.env["MESHGATE_METRICS_PORT"])

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "meshgate.handlers.run"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )

    def kill(self) -> None:
        """SIGKILL: no cleanup, as a crash or an OOM kill would leave it."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
