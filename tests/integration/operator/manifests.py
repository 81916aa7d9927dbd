"""Manifests the operator integration tests apply."""

from __future__ import annotations

from typing import Any

API = "meshgate.io/v1alpha1"


def gateway(name: str = "edge", replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Gateway",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "service": {"type": "ClusterIP"},
            "listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}],
        },
    }


def route(name: str, backend: str, path: str = "/", gateway: str = "edge") -> dict[str, Any]:
    return {
        "apiVersion": API,
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


def service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 8080, "targetPort": 8080}],
        },
    }


def endpoint_slice(service_name: str, *addresses: str) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service_name}-manual",
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses],
    }
