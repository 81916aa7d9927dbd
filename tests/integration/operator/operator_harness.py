"""Helpers for the operator integration tests: objects by kind, and the operator process (the
shared raw API calls, CRD install and polling with a deadline are in `controller_kit`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import controller_kit
from controller_kit import REPO as REPO
from controller_kit import ApiError, call, start_logged, stop_by_pid
from controller_kit import eventually as eventually
from kubernetes.client import ApiClient

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


OPERATOR_NAMESPACE = "meshgate-system"


def ensure_namespace(api: ApiClient, name: str) -> None:
    try:
        call(api, "POST", "/api/v1/namespaces", body={"metadata": {"name": name}})
    except ApiError as exc:
        if exc.status != 409:
            raise


def install_crds(api: ApiClient) -> None:
    controller_kit.install_crds(api, field_manager="meshgate-tests")


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
            "MESHGATE_OPERATOR_NAMESPACE": OPERATOR_NAMESPACE,
            "MESHGATE_METRICS_PORT": str(free_port()),
            # The config server's port too: other operators on this host may hold the default.
            "MESHGATE_PUSH_PORT": str(free_port()),
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
        self.proc = start_logged(
            [sys.executable, "-m", "meshgate.handlers.run"], self.env, self.log_path
        )

    def kill(self) -> None:
        """SIGKILL: no cleanup, as a crash or an OOM kill would leave it."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        stop_by_pid(self.proc)
        self.proc = None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
