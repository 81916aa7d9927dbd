"""Helpers for the Gateway API integration tests: the standard-channel CRDs the chart carries,
raw calls for `gateway.networking.k8s.io` objects, and the conditions the operator writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from controller_kit import CRDS, REPO, ApiError, call, eventually
from kubernetes.client import ApiClient
from operator_harness import OperatorProcess

GROUP = "gateway.networking.k8s.io"
V1 = f"{GROUP}/v1"
CONTROLLER = "meshgate.io/gateway-controller"
CRD_DIR = REPO / "charts" / "meshgate" / "files" / "gateway-api-crds"
PLURALS = {
    "GatewayClass": "gatewayclasses",
    "Gateway": "gateways",
    "HTTPRoute": "httproutes",
    "GRPCRoute": "grpcroutes",
    "ReferenceGrant": "referencegrants",
    "Service": "services",
    "Secret": "secrets",
    "ConfigMap": "configmaps",
    "Route": "routes",
    "Deployment": "deployments",
}


def install_gateway_api_crds(api: ApiClient) -> None:
    """The chart's copy of the v1.5.1 standard-channel CRDs, applied and Established."""
    names = []
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        names.append(crd["metadata"]["name"])
        call(
            api, "PATCH", f"{CRDS}/{names[-1]}", body=crd,
            query=[("fieldManager", "meshgate-tests"), ("force", "true")],
            content_type="application/apply-patch+yaml",
        )  # fmt: skip
    for name in names:

        def established(name: str = name) -> bool:
            conds = (call(api, "GET", f"{CRDS}/{name}").get("status") or {}).get("conditions")
            return any(c["type"] == "Established" and c["status"] == "True" for c in conds or [])

        eventually(established, timeout=30, what=f"CRD {name} established")


def path_of(kind: str, api_version: str, namespace: str, name: str | None = None) -> str:
    base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    ns = f"/namespaces/{namespace}" if namespace and kind != "GatewayClass" else ""
    return f"{base}{ns}/{PLURALS[kind]}" + (f"/{name}" if name else "")


def apply(api: ApiClient, obj: dict[str, Any], namespace: str = "") -> dict[str, Any]:
    """Server-side apply as a user would (`kubectl apply --server-side`)."""
    if namespace and obj["kind"] != "GatewayClass":
        obj.setdefault("metadata", {})["namespace"] = namespace
    return call(
        api, "PATCH", path_of(obj["kind"], obj["apiVersion"], namespace, obj["metadata"]["name"]),
        body=obj, query=[("fieldManager", "test-user"), ("force", "true")],
        content_type="application/apply-patch+yaml",
    )  # fmt: skip


def get(
    api: ApiClient, kind: str, namespace: str, name: str, api_version: str = V1
) -> dict[str, Any] | None:
    try:
        return call(api, "GET", path_of(kind, api_version, namespace, name))
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def delete(api: ApiClient, kind: str, namespace: str, name: str, api_version: str = V1) -> None:
    try:
        call(api, "DELETE", path_of(kind, api_version, namespace, name))
    except ApiError as exc:
        if exc.status != 404:
            raise


def find(conditions: list[dict[str, Any]] | None, type_: str) -> dict[str, Any] | None:
    return next((c for c in conditions or [] if c["type"] == type_), None)


def parent_entry(route: dict[str, Any] | None, gateway: str) -> dict[str, Any] | None:
    for p in ((route or {}).get("status") or {}).get("parents") or []:
        if p["controllerName"] == CONTROLLER and p["parentRef"]["name"] == gateway:
            return dict(p)
    return None


def route_condition(
    api: ApiClient,
    namespace: str,
    route: str,
    type_: str,
    gateway: str = "edge",
    kind: str = "HTTPRoute",
) -> tuple[str, str] | None:
    """(status, reason) of a condition in meshgate's parent entry, once it describes the route's
    current generation."""
    obj = get(api, kind, namespace, route)
    entry = parent_entry(obj, gateway)
    c = find((entry or {}).get("conditions"), type_)
    if obj is None or c is None or c["observedGeneration"] != obj["metadata"]["generation"]:
        return None
    return c["status"], c["reason"]


def wait_route_condition(
    api: ApiClient, namespace: str, route: str, type_: str, want: tuple[str, str], **kw: Any
) -> None:
    eventually(
        lambda: route_condition(api, namespace, route, type_, **kw) == want,
        timeout=30,
        what=f"{kw.get('kind', 'HTTPRoute')} {route} {type_}={want}",
    )


def gateway_class(name: str) -> dict[str, Any]:
    return {
        "apiVersion": V1,
        "kind": "GatewayClass",
        "metadata": {"name": name},
        "spec": {"controllerName": CONTROLLER},
    }


def gateway(class_name: str, *listeners: dict[str, Any], name: str = "edge") -> dict[str, Any]:
    return {
        "apiVersion": V1,
        "kind": "Gateway",
        "metadata": {"name": name},
        "spec": {
            "gatewayClassName": class_name,
            "listeners": list(listeners) or [{"name": "http", "port": 8080, "protocol": "HTTP"}],
        },
    }


def http_route(
    name: str = "web",
    *,
    parent: dict[str, Any] | None = None,
    backend: dict[str, Any] | None = None,
    hostnames: list[str] | None = None,
    filters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    rule: dict[str, Any] = {"backendRefs": [backend or {"name": "web", "port": 8080}]}
    if filters:
        rule["filters"] = filters
    spec: dict[str, Any] = {"parentRefs": [parent or {"name": "edge"}], "rules": [rule]}
    if hostnames:
        spec["hostnames"] = hostnames
    return {"apiVersion": V1, "kind": "HTTPRoute", "metadata": {"name": name}, "spec": spec}


def service(name: str = "web", port: int = 8080) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": port, "targetPort": port}]},
    }


def start_operator(kubeconfig: str, namespaces: str, log: Path, **env: str) -> OperatorProcess:
    """The operator serving the Gateway API for `namespaces` (comma separated)."""
    op = OperatorProcess(
        kubeconfig,
        namespaces,
        log,
        MESHGATE_GATEWAY_API="true",
        MESHGATE_GATEWAY_API_REPLICAS="1",
        **env,
    )
    op.start()
    return op
