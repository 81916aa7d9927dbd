"""Helpers of the identity integration tests: identity-specific paths and objects, and the
identity controller alone as an operator subprocess (the shared parts are in `controller_kit`)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import controller_kit
from controller_kit import ApiError, call, start_logged, stop_by_pid
from controller_kit import eventually as eventually
from cryptography import x509
from kubernetes.client import ApiClient


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
    controller_kit.install_crds(api, field_manager="identity-tests")


def pem(secret: dict[str, Any], key: str) -> bytes:
    return base64.b64decode(secret["data"][key])


def leaf(secret: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem(secret, "tls.crt"))


def uri_sans(cert: x509.Certificate) -> list[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(u) for u in san.get_values_for_type(x509.UniformResourceIdentifier)]


class IdentityController:
    """The operator serving the identity controller alone (`meshgate operator --controllers
    identity`), watching one namespace; stopped by PID."""

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
        self.proc = start_logged(
            [sys.executable, "-m", "meshgate.handlers.run", "--controllers", "identity"],
            self.env,
            self.log_path,
        )

    def stop(self) -> None:
        stop_by_pid(self.proc)
        self.proc = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
