"""A thin, typed REST layer over the Kubernetes client: get, list, server-side apply, delete.

Raw JSON in and out (no client models), so bodies keep the exact shape the compiler's TypedDicts
describe. Every write uses server-side apply with field manager `meshgate`. Synchronous: callers
in the event loop run it in a worker thread. This module must never decide *what* to write.
Bodies may hold key material, so an error carries the HTTP status and the Status `reason` word
only, never the server's message or a body; this module must never log either.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from meshgate.api.v1alpha1.registry import KINDS
from meshgate.ownership import FIELD_MANAGER


@dataclass(frozen=True)
class Kind:
    """Where a kind lives in the REST API."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


CONFIG_MAP = Kind("", "v1", "configmaps", "ConfigMap")
SERVICE = Kind("", "v1", "services", "Service")
SECRET = Kind("", "v1", "secrets", "Secret")
POD = Kind("", "v1", "pods", "Pod")
NAMESPACE = Kind("", "v1", "namespaces", "Namespace", namespaced=False)
DEPLOYMENT = Kind("apps", "v1", "deployments", "Deployment")
PDB = Kind("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget")
ENDPOINT_SLICE = Kind("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice")
EVENT = Kind("events.k8s.io", "v1", "events", "Event")
CORE_EVENT = Kind("", "v1", "events", "Event")
SERVICE_ACCOUNT = Kind("", "v1", "serviceaccounts", "ServiceAccount")
NETWORK_POLICY = Kind("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy")

# The standard Gateway API kinds served when `gatewayAPI.enabled` (MESHGATE_GATEWAY_API).
GATEWAY_CLASS = Kind("gateway.networking.k8s.io", "v1", "gatewayclasses", "GatewayClass", False)
GATEWAY_API_GATEWAY = Kind("gateway.networking.k8s.io", "v1", "gateways", "Gateway")
HTTP_ROUTE = Kind("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute")
GRPC_ROUTE = Kind("gateway.networking.k8s.io", "v1", "grpcroutes", "GRPCRoute")
TLS_ROUTE = Kind("gateway.networking.k8s.io", "v1", "tlsroutes", "TLSRoute")
REFERENCE_GRANT = Kind("gateway.networking.k8s.io", "v1beta1", "referencegrants", "ReferenceGrant")
GATEWAY_API_KINDS = (
    GATEWAY_CLASS,
    GATEWAY_API_GATEWAY,
    HTTP_ROUTE,
    REFERENCE_GRANT,
    GRPC_ROUTE,
    TLS_ROUTE,
)
CRD = Kind(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False
)

BY_KIND = {k.kind: k for k in (CONFIG_MAP, SERVICE, DEPLOYMENT, PDB, SECRET, NETWORK_POLICY)}


class NotFound(Exception):
    pass


class KubeError(ApiException):
    """An API call failed; the message names the request, its status and reason word only."""

    def __init__(self, status: int, reason: str, what: str) -> None:
        super().__init__(status=status, reason=reason)
        self.what = what

    def __str__(self) -> str:
        return f"{self.what}: HTTP {self.status} {self.reason}"


def connect(kubeconfig: str | None = None, context: str | None = None) -> k8s.ApiClient:
    """The one way meshgate gets a Kubernetes client (operator, injector and CLI alike).

    A kubeconfig named explicitly (argument or `$KUBECONFIG`) wins, as it does for kubectl: a
    process given one means it. Otherwise the Pod's ServiceAccount when running in a cluster,
    else ~/.kube/config. Each client gets its own configuration; none is installed globally.
    """
    path = kubeconfig or os.environ.get("KUBECONFIG") or None
    if path is None and context is None:
        in_cluster = k8s.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=in_cluster)  # type: ignore[no-untyped-call]
        except k8s_config.ConfigException:
            pass  # not in a Pod: the default kubeconfig below
        else:
            return k8s.ApiClient(in_cluster)
    api: k8s.ApiClient = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=path, context=context
    )
    return api


class Rest:
    def __init__(self, api: k8s.ApiClient) -> None:
        self.api = api

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> dict[str, Any]:
        method, url, headers, _, _ = self.api.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params={"Content-Type": content_type, "Accept": accept},
            auth_settings=["BearerToken"],
        )
        # The client JSON-encodes bodies of JSON content types itself; other content types
        # (apply-patch+yaml) are sent as a pre-serialised string, as is.
        payload = body if body is None or "json" in content_type else json.dumps(body)
        resp = self.api.call_api(method, url, headers, payload, _request_timeout=30)
        data = resp.read()  # type: ignore[no-untyped-call]
        if resp.status == 404:
            raise NotFound(path)
        if resp.status >= 400:
            raise KubeError(resp.status, _reason(data), f"{method} {path}")
        return cast(dict[str, Any], json.loads(data)) if data else {}

    def read(self, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        try:
            return self._call("GET", kind.path(namespace, name))
        except NotFound:
            return None

    def list_versioned(
        self,
        kind: Kind,
        namespace: str | None = None,
        *,
        labels: str | None = None,
        fields: str | None = None,
        metadata_only: bool = False,
    ) -> tuple[list[dict[str, Any]], str]:
        """`list`, and the resourceVersion the listing is consistent at (of its first page)."""
        query: list[tuple[str, str]] = [("limit", "500")]
        if labels:
            query.append(("labelSelector", labels))
        if fields:
            query.append(("fieldSelector", fields))
        accept = (
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
            if metadata_only
            else "application/json"
        )
        items: list[dict[str, Any]] = []
        token = ""
        version = ""
        while True:
            page = self._call(
                "GET",
                kind.path(namespace),
                query=query + ([("continue", token)] if token else []),
                accept=accept,
            )
            items += page.get("items") or []
            meta = page.get("metadata") or {}
            version = version or str(meta.get("resourceVersion") or "")
            token = meta.get("continue") or ""
            if not token:
                return items, version

    def list(
        self,
        kind: Kind,
        namespace: str | None = None,
        *,
        labels: str | None = None,
        fields: str | None = None,
        metadata_only: bool = False,
    ) -> list[dict[str, Any]]:
        """Every item, following `continue` tokens; metadata-only lists skip the bodies."""
        return self.list_versioned(
            kind, namespace, labels=labels, fields=fields, metadata_only=metadata_only
        )[0]

    def apply(
        self, obj: dict[str, Any], *, status: bool = False, kind: Kind | None = None
    ) -> dict[str, Any]:
        """Server-side apply as `meshgate`, taking over fields another manager set (force).
        `kind` names the API when the kind name alone is ambiguous (Gateway API kinds)."""
        kind = kind or BY_KIND.get(obj["kind"]) or custom_kind(obj)
        meta = obj["metadata"]
        path = kind.path(meta.get("namespace"), meta["name"]) + ("/status" if status else "")
        return self._call(
            "PATCH",
            path,
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
            body=obj,
            content_type="application/apply-patch+yaml",
        )

    def merge_patch(
        self, kind: Kind, namespace: str, name: str, patch: dict[str, Any], *, status: bool = False
    ) -> dict[str, Any]:
        """A JSON merge patch (of the status subresource when `status`): only the fields given."""
        path = kind.path(namespace, name) + ("/status" if status else "")
        return self._call("PATCH", path, body=patch, content_type="application/merge-patch+json")

    def delete(self, kind: Kind, namespace: str, name: str, *, version: str | None = None) -> None:
        """Delete; with `version`, only while the object is still at that resourceVersion (a
        newer one fails with 409 KubeError)."""
        body = {"preconditions": {"resourceVersion": version}} if version else None
        with contextlib.suppress(NotFound):
            self._call("DELETE", kind.path(namespace, name), body=body)

    def watch(
        self,
        kind: Kind,
        namespace: str | None,
        version: str,
        *,
        labels: str | None = None,
        timeout_seconds: int = 300,
    ) -> Iterator[dict[str, Any]]:
        """The watch events (`{"type", "object"}`, plain dicts) from `version` on, until the
        server ends the watch after `timeout_seconds`. An `ERROR` event (410 Gone: list again)
        is yielded like any other; the caller decides."""
        query = [
            ("watch", "true"),
            ("resourceVersion", version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(timeout_seconds)),
        ]
        if labels:
            query.append(("labelSelector", labels))
        method, url, headers, _, _ = self.api.param_serialize(
            "GET",
            kind.path(namespace),
            query_params=query,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        resp = self.api.call_api(
            method, url, headers, _request_timeout=timeout_seconds + 30
        ).response  # the raw stream: bodies are decoded one event (one line) at a time
        try:
            if resp.status == 404:
                raise NotFound(kind.path(namespace))
            if resp.status >= 400:
                raise KubeError(resp.status, _reason(resp.read()), f"WATCH {kind.path(namespace)}")
            buffered = bytearray()  # one event per line; a large object spans many chunks
            for chunk in resp.stream(amt=None, decode_content=False):
                buffered += chunk
                while (end := buffered.find(b"\n")) >= 0:
                    line = bytes(buffered[:end])
                    del buffered[: end + 1]
                    if line.strip():
                        yield cast(dict[str, Any], json.loads(line))
        finally:
            resp.release_conn()

    def create(self, kind: Kind, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", kind.path(namespace), body=body)

    def replace(self, kind: Kind, body: dict[str, Any]) -> dict[str, Any]:
        """PUT the whole object. With the body's resourceVersion, a write that raced another
        fails with 409 (KubeError) instead of overwriting it; unlike server-side apply it also
        removes fields other managers set."""
        meta = body["metadata"]
        return self._call("PUT", kind.path(meta.get("namespace"), meta["name"]), body=body)


MESHGATE_KINDS = {k.kind: Kind(k.group, k.version, k.plural, k.kind) for k in KINDS}


def custom_kind(obj: dict[str, Any]) -> Kind:
    return MESHGATE_KINDS[str(obj["kind"])]


def _reason(data: bytes) -> str:
    # The Status `reason` is one CamelCase word from a fixed set; its `message` may quote the
    # object we sent, so it is never used.
    try:
        reason = json.loads(data).get("reason")
    except (ValueError, AttributeError):
        return "Error"
    return reason if isinstance(reason, str) and reason.isalpha() else "Error"
