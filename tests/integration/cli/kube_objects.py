"""Create objects for the CLI tests with raw API calls (imported as a top-level module)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from controller_kit import call
from kubernetes.client import ApiClient

# `run_cli("check", ...)`: the exit code and the parsed `-o json` output; `run_cli.err` is the
# last run's stderr.
RunCli = Callable[..., tuple[int, Any]]

PLURALS = {
    "Route": "routes",
    "DestinationRule": "destinationrules",
    "PeerAuthentication": "peerauthentications",
    "AuthorizationPolicy": "authorizationpolicies",
    "RetryPolicy": "retrypolicies",
    "Gateway": "gateways",
}


def create(api: ApiClient, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
    kind = obj["kind"]
    if kind in PLURALS:
        path = f"/apis/meshgate.io/v1alpha1/namespaces/{namespace}/{PLURALS[kind]}"
        obj = {"apiVersion": "meshgate.io/v1alpha1", **obj}
    elif kind == "Deployment":
        path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
        obj = {"apiVersion": "apps/v1", **obj}
    else:
        path = f"/api/v1/namespaces/{namespace}/{kind.lower()}s"
        obj = {"apiVersion": "v1", **obj}
    return call(api, "POST", path, body=obj)


def pod(
    name: str, labels: dict[str, str], container: str = "app", image: str = "meshproxy:test"
) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": container, "image": image}]},
    }
