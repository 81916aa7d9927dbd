"""Operator-compiled config for proxy e2e tests: meshgate resources in, the gateway config out.

The operator's own compiler (`meshgate.compile.compile_snapshot`, through the golden-file
snapshot loader) turns Gateway, Route and DestinationRule YAML into the config the operator
writes into the gateway's ConfigMap. This kit only adds a Service and an EndpointSlice per
loopback backend and moves the listener to a free loopback port; it never writes proxy config
by hand, so what runs is what the operator would have produced.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from compiled_snapshot import snapshot

from meshgate.compile import compile_snapshot

NAMESPACE = "shop"
SERVICE_PORT = 8080


def service(name: str, *backend_ports: int, labels: dict[str, str] | None = None) -> str:
    """A Service `name` on port 8080 whose ready endpoints are these loopback backends (one
    EndpointSlice each, as the ports differ); `labels` go on every endpoint's Pod."""
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {
                "selector": {"app": name},
                "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": SERVICE_PORT}],
            },
        }
    ]
    for i, port in enumerate(backend_ports):
        pod = f"{name}-{i}"
        docs.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"{name}-{i}",
                    "namespace": NAMESPACE,
                    "labels": {"kubernetes.io/service-name": name},
                },
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": port}],
                "endpoints": [
                    {
                        "addresses": ["127.0.0.1"],
                        "conditions": {"ready": True},
                        "targetRef": {"kind": "Pod", "name": pod},
                    }
                ],
            }
        )
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod,
                    "namespace": NAMESPACE,
                    "labels": {"app": name, **(labels or {})},
                },
            }
        )
    return yaml.safe_dump_all(docs)


def gateway_config(manifests: str, listener_port: int) -> dict[str, Any]:
    """The config the operator compiles for the one Gateway in `manifests` (namespace `shop`),
    its listener moved to 127.0.0.1:`listener_port`, access log on stdout. Fails when the
    compiler reports a resource as not Accepted: a test must run what a user would get."""
    docs = [d for d in yaml.safe_load_all(manifests) if d]
    result = compile_snapshot(snapshot(docs, default_namespace=NAMESPACE))
    refused = [
        f"{s.kind}/{s.name}: {c.reason}: {c.message}"
        for s in result.statuses
        for c in s.conditions
        if c.type == "Accepted" and c.status != "True"
    ]
    assert not refused, refused
    (gateway,) = result.gateways
    cfg: dict[str, Any] = json.loads(gateway.config_json)
    (listener,) = cfg["listeners"]
    listener.update(address="127.0.0.1", port=listener_port)
    cfg["observability"] = {
        **(cfg.get("observability") or {}),
        "accessLog": {"enabled": True, "path": "-"},
    }
    return cfg


def compiled_gateway(extra: str, listener_port: int) -> dict[str, Any]:
    """`extra` (Routes, DestinationRules, Services) under Gateway `edge`, one HTTP listener."""
    gateway = """
apiVersion: meshgate.io/v1alpha1
kind: Gateway
metadata: {name: edge, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  listeners:
    - {name: http, port: 8080, protocol: HTTP}
"""
    return gateway_config(gateway + "---\n" + extra, listener_port)
