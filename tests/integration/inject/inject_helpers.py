"""Small helpers for the injector's integration tests: create a Pod, read what came back."""

from __future__ import annotations

from typing import Any

from kubernetes import client

APP_SECURITY = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def pod_body(name: str, annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}, "annotations": annotations or {}},
        "spec": {
            "containers": [
                {"name": "app", "image": "registry.example/app:1", "securityContext": APP_SECURITY}
            ],
            **spec,
        },
    }


def create_pod(api: Any, namespace: str, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Create through the API server (and so through every admission webhook); return the
    stored Pod as a raw dict and the API server's Warning header (admission warnings)."""
    resp = client.CoreV1Api(api).create_namespaced_pod(namespace, body, _preload_content=False)
    import json

    return json.loads(resp.data), resp.headers.get("Warning", "")


def container_names(pod: dict[str, Any]) -> tuple[list[str], list[str]]:
    spec = pod["spec"]
    return (
        [c["name"] for c in spec.get("initContainers", [])],
        [c["name"] for c in spec["containers"]],
    )
