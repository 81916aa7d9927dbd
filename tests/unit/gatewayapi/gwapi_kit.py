"""Builders for the Gateway API adapter's unit tests: bodies as the API server stores them
(defaults applied), a snapshot around them, and lookups into the adapter's statuses."""

from __future__ import annotations

from typing import Any

from meshgate.compile import MeshSettings, snapshot_from_bodies
from meshgate.compile.snapshot import GatewayRuntime, Snapshot
from meshgate.gatewayapi import Adapted, adapt
from meshgate.gatewayapi.objects import objects_from_bodies

V1 = "gateway.networking.k8s.io/v1"
NS = "shop"
PEM = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="  # "-----BEGIN CERTIFICATE-----\n"


def gateway_class(
    name: str = "meshgate", controller: str = "meshgate.io/gateway-controller"
) -> dict[str, Any]:
    return {
        "apiVersion": V1,
        "kind": "GatewayClass",
        "metadata": {"name": name, "generation": 1},
        "spec": {"controllerName": controller},
    }


def listener(
    name: str = "http", port: int = 80, protocol: str = "HTTP", **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "port": port,
        "protocol": protocol,
        "allowedRoutes": {"namespaces": {"from": "Same"}},
    }
    out.update(extra)
    return out


def gateway(
    name: str = "edge",
    *listeners: dict[str, Any],
    namespace: str = NS,
    class_name: str = "meshgate",
    generation: int = 1,
) -> dict[str, Any]:
    return {
        "apiVersion": V1,
        "kind": "Gateway",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "generation": generation,
            "uid": f"uid-{name}",
        },
        "spec": {"gatewayClassName": class_name, "listeners": list(listeners) or [listener()]},
    }


def backend(name: str = "web", port: int = 8080, **extra: Any) -> dict[str, Any]:
    return {"group": "", "kind": "Service", "name": name, "port": port, "weight": 1, **extra}


def rule(*backends: dict[str, Any], **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "backendRefs": list(backends),
    }
    out.update(extra)
    return out


def parent(name: str = "edge", **extra: Any) -> dict[str, Any]:
    return {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": name, **extra}


def http_route(
    name: str = "web",
    *,
    parents: list[dict[str, Any]] | None = None,
    rules: list[dict[str, Any]] | None = None,
    hostnames: list[str] | None = None,
    namespace: str = NS,
    generation: int = 1,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "parentRefs": parents if parents is not None else [parent()],
        "rules": rules if rules is not None else [rule(backend())],
    }
    if hostnames:
        spec["hostnames"] = hostnames
    return {
        "apiVersion": V1,
        "kind": "HTTPRoute",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "generation": generation,
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": spec,
    }


def reference_grant(
    namespace: str, from_kind: str, from_namespace: str, to_kind: str, to_name: str | None = None
) -> dict[str, Any]:
    to: dict[str, Any] = {"group": "", "kind": to_kind}
    if to_name:
        to["name"] = to_name
    return {
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": f"allow-{from_namespace}", "namespace": namespace},
        "spec": {
            "from": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": from_kind,
                    "namespace": from_namespace,
                }
            ],
            "to": [to],
        },
    }


def service(name: str = "web", namespace: str = NS, port: int = 8080) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"app": name}, "ports": [{"port": port, "targetPort": port}]},
    }


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def tls_secret(name: str, namespace: str = NS, pem: bool = True) -> dict[str, Any]:
    value = PEM if pem else "SGVsbG8gd29ybGQK"
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"tls.crt": value, "tls.key": value},
    }


def snapshot(
    docs: list[dict[str, Any]],
    *,
    addresses: dict[str, list[tuple[str, str]]] | None = None,
) -> Snapshot:
    core: dict[str, list[Any]] = {"Service": [], "Secret": [], "Namespace": []}
    custom: dict[str, list[Any]] = {}
    for d in docs:
        if d["apiVersion"].startswith("meshgate.io/"):
            custom.setdefault(d["kind"], []).append(d)
        elif d["kind"] in core:
            core[d["kind"]].append(d)
    namespaces = core["Namespace"] or [namespace(NS)]
    runtime = {
        key: GatewayRuntime(ready_replicas=1, addresses=tuple(v))
        for key, v in (addresses or {}).items()
    }
    return snapshot_from_bodies(
        settings=MeshSettings(),
        custom=custom,
        services=core["Service"],
        secrets=core["Secret"],
        namespaces=namespaces,
        gateway_runtime=runtime,
    )


def run(docs: list[dict[str, Any]], **kw: Any) -> tuple[Adapted, Snapshot]:
    """Adapt `docs` and return the adapter's output and the snapshot the compiler would take."""
    snap = snapshot(docs, **kw)
    adapted = adapt(objects_from_bodies(docs), snap, replicas=1)
    return adapted, adapted.extend(snap)


def status(adapted: Adapted, kind: str, name: str, namespace: str = NS) -> dict[str, Any]:
    ns = "" if kind == "GatewayClass" else namespace
    for st in adapted.statuses:
        if (st.kind, st.namespace, st.name) == (kind, ns, name):
            return st.body
    raise AssertionError(f"no status for {kind} {ns}/{name}")


def condition(conditions: list[dict[str, Any]], type_: str) -> tuple[str, str]:
    c = next(c for c in conditions if c["type"] == type_)
    return c["status"], c["reason"]


def parent_condition(body: dict[str, Any], type_: str, index: int = 0) -> tuple[str, str]:
    return condition(body["parents"][index]["conditions"], type_)


def listener_status(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(x for x in body["listeners"] if x["name"] == name)
