"""Helpers of the identity integration tests: raw API calls, CRD install, the identity
controller as a `kopf run` subprocess stopped by its PID, and polling with a deadline."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from cryptography import x509
from kubernetes.client import ApiClient

REPO = Path(__file__).resolve().parents[3]
T = TypeVar("T")


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
    # The client serialises JSON and structured-YAML bodies itself.
    resp = api.call_api(method, url, header_params=headers, body=body)
    resp.read()  # type: ignore[no-untyped-call]
    data = json.loads(resp.data or b"{}")
    if not 200 <= resp.status < 300:
        raise ApiError(resp.status, str(data.get("message", data)))
    result: dict[str, Any] = data
    return result


def get(api: ApiClient, path: str) -> dict[str, Any] | None:
    try:
        return call(api, "GET", path)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def delete(api: ApiClient, path: str) -> None:
    try:
        call(api, "DELETE", path)
    except ApiError as exc:
        if exc.status != 404:
            raise


def apply(api: ApiClient, path: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply as a user would (`kubectl apply --server-side`)."""
    return call(
        api,
        "PATCH",
        path,
        body=obj,
        query=[("fieldManager", "identity-tests"), ("force", "true")],
        content_type="application/apply-patch+yaml",
    )


def secret_path(namespace: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{namespace}/secrets" + (f"/{name}" if name else "")


def policy_path(namespace: str, name: str = "") -> str:
    base = f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies"
    return base + (f"/{name}" if name else "")


def meshgate_path(plural: str, namespace: str, name: str) -> str:
    return f"/apis/meshgate.io/v1alpha1/namespaces/{namespace}/{plural}/{name}"


def label_namespace_for_injection(api: ApiClient, namespace: str) -> None:
    call(
        api,
        "PATCH",
        f"/api/v1/namespaces/{namespace}",
        body={"metadata": {"labels": {"meshgate.io/inject": "enabled"}}},
        content_type="application/merge-patch+json",
    )


def create_service_account(api: ApiClient, namespace: str, name: str) -> None:
    call(
        api,
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts",
        body={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
    )


def install_crds(api: ApiClient) -> None:
    names = []
    for path in sorted((REPO / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        names.append(crd["metadata"]["name"])
        apply(api, f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{names[-1]}", crd)
    for name in names:

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
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def pem(secret: dict[str, Any], key: str) -> bytes:
    return base64.b64decode(secret["data"][key])


def leaf(secret: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem(secret, "tls.crt"))


def uri_sans(cert: x509.Certificate) -> list[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(u) for u in san.get_values_for_type(x509.UniformResourceIdentifier)]


class IdentityController:
    """`kopf run --standalone -m meshgate.identity.handlers --namespace <ns>`, stopped by PID."""

    def __init__(self, kubeconfig: str, namespace: str, log_path: Path, **env: str) -> None:
        self.namespace = namespace
        self.env = {
            **os.environ,
            "KUBECONFIG": kubeconfig,
            "PYTHONUNBUFFERED": "1",
            "MESHGATE_WATCH_NAMESPACES": namespace,
            "MESHGATE_OPERATOR_NAMESPACE": namespace,
            "MESHGATE_DEBOUNCE_SECONDS": "0.1",
            "MESHGATE_IDENTITY_MIN_CHECK_SECONDS": "1",
            **env,
        }
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kopf",
                "run",
                "--standalone",
                "--namespace",
                self.namespace,
                "-m",
                "meshgate.identity.handlers",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
