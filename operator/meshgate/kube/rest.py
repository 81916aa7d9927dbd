"""meshgate's Kubernetes client: get, list, watch, server-side apply, patch, delete, over urllib3.

Raw JSON in and out (no client models), so bodies keep the exact shape the compiler's TypedDicts
describe. It is the only client of the operator's process: the generated `kubernetes` package
(every model class of every API group, ~33 MiB resident) is never imported there (see
docs/architecture.md). Credentials come from `meshgate.kube.credentials`. Every write uses
server-side apply with field manager `meshgate`. Synchronous: callers in the event loop run it in
a worker thread. This module must never decide *what* to write.
Bodies may hold key material, so an error carries the HTTP status and the Status `reason` word
only, never the server's message or a body; this module must never log either.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

import urllib3

from meshgate import __version__
from meshgate.api.v1alpha1.registry import KINDS
from meshgate.ownership import FIELD_MANAGER

from . import credentials as kube_credentials
from .credentials import Credentials

# Connections kept per server: worker threads share them (the reconcile, the status lane's
# writers, the identity and injection controllers, the config server's watch and status writer).
POOL_SIZE = 16
TIMEOUT_SECONDS = 30.0
# Objects per page of a listing: one page of whole bodies is what a listing holds at once (a
# page of 200 Routes decodes to ~1.4 MB), as kopf's own pages (`handlers.startup.LIST_CHUNK`).
LIST_PAGE = 200


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


class KubeError(Exception):
    """An API call failed; the message names the request, its status and reason word only."""

    def __init__(self, status: int, reason: str, what: str) -> None:
        super().__init__(status, reason, what)
        self.status = status
        self.reason = reason
        self.what = what

    def __str__(self) -> str:
        return f"{self.what}: HTTP {self.status} {self.reason}"


def connect(kubeconfig: str | None = None, context: str | None = None) -> Rest:
    """The one way meshgate gets a Kubernetes client (operator, injector and CLI alike): the
    credentials `meshgate.kube.credentials.load` finds (an explicit kubeconfig, else the Pod's
    ServiceAccount, else ~/.kube/config)."""
    return Rest(kube_credentials.load(kubeconfig, context))


class Rest:
    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.server = credentials.server.rstrip("/")
        secure = self.server.startswith("https:")
        self._pool = urllib3.PoolManager(
            num_pools=2,
            maxsize=POOL_SIZE,
            ssl_context=credentials.ssl_context() if secure else None,
        )
        self._agent = f"meshgate/{__version__}"

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
        timeout: float = TIMEOUT_SECONDS,
        stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        headers = {"Accept": accept, "User-Agent": self._agent, **self.credentials.headers()}
        if content_type is not None:
            headers["Content-Type"] = content_type
        url = self.server + path + (f"?{urlencode(query)}" if query else "")
        return self._pool.request(
            method,
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(total=timeout),
            preload_content=not stream,
            redirect=False,
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        timeout: float = TIMEOUT_SECONDS,
    ) -> dict[str, Any]:
        payload = None if body is None else json.dumps(body).encode()
        resp = self._send(
            method,
            path,
            query=query,
            body=payload,
            content_type=content_type if payload is not None else None,
            accept=accept,
            timeout=timeout,
        )
        data = resp.data
        if resp.status == 404:
            raise NotFound(path)
        if resp.status >= 400:
            raise KubeError(resp.status, _reason(data), f"{method} {path}")
        return cast(dict[str, Any], json.loads(data)) if data else {}

    def fetch(self, path: str, *, accept: str = "*/*", timeout: float = 10) -> tuple[int, bytes]:
        """GET any path (the Pod proxy subresource, `/version`): the status and the raw body,
        whatever the status. Bodies are returned, never logged."""
        resp = self._send("GET", path, accept=accept, timeout=timeout)
        return resp.status, resp.data

    def server_version(self) -> dict[str, Any]:
        """The API server's `/version` (major, minor, gitVersion ...)."""
        return self._call("GET", "/version")

    def read(
        self, kind: Kind, namespace: str, name: str, *, timeout: float = TIMEOUT_SECONDS
    ) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        try:
            return self._call("GET", kind.path(namespace, name), timeout=timeout)
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
        each: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        """`list`, and the resourceVersion the listing is consistent at (of its first page).

        `each` is applied to every item as its page arrives, so a caller that keeps a reduced
        form (the operator's store) never holds more than one page of whole bodies: a kind's
        full listing decoded at once was the operator's peak memory at 10,000 Routes."""
        query: list[tuple[str, str]] = [("limit", str(LIST_PAGE))]
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
            found = page.get("items") or []
            items += found if each is None else map(each, found)
            meta = page.get("metadata") or {}
            version = version or str(meta.get("resourceVersion") or "")
            token = meta.get("continue") or ""
            del page, found  # not alive while the next page is read and decoded
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
        # The raw stream: bodies are decoded one event (one line) at a time.
        resp = self._send(
            "GET", kind.path(namespace), query=query, timeout=timeout_seconds + 30, stream=True
        )
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
        return self._call(
            "POST", kind.path(namespace), query=[("fieldManager", FIELD_MANAGER)], body=body
        )

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
