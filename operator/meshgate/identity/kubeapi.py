"""The identity controller's few Kubernetes calls: list, get, create, replace, apply, delete.

Raw JSON over the client's `ApiClient`, synchronous (callers run it in a worker thread). Writes
of generated objects are server-side applies with field manager `meshgate`. Request and response
bodies may hold key material, so an error carries the HTTP status and the Status `reason` word
only, never the server's message or a body; this module must never log either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from kubernetes import client as k8s
from kubernetes import config as k8s_config

FIELD_MANAGER = "meshgate"


class KubeError(Exception):
    """An API call failed; `status` is the HTTP status, the message names the object only."""

    def __init__(self, status: int, reason: str, what: str) -> None:
        super().__init__(f"{what}: HTTP {status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    namespaced: bool = True

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


SECRETS = Resource("", "v1", "secrets")
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts")
PODS = Resource("", "v1", "pods")
NAMESPACES = Resource("", "v1", "namespaces", namespaced=False)
EVENTS = Resource("", "v1", "events")
NETWORK_POLICIES = Resource("networking.k8s.io", "v1", "networkpolicies")
GATEWAYS = Resource("meshgate.io", "v1alpha1", "gateways")
PEER_AUTHENTICATIONS = Resource("meshgate.io", "v1alpha1", "peerauthentications")

_BY_KIND = {"Secret": SECRETS, "NetworkPolicy": NETWORK_POLICIES}


def connect() -> k8s.ApiClient:
    """In-cluster credentials when running in a Pod, else `$KUBECONFIG` / ~/.kube/config."""
    try:
        k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
    except k8s_config.ConfigException:
        k8s_config.load_kube_config()  # type: ignore[no-untyped-call]
    return k8s.ApiClient()


class Kube:
    def __init__(self, api: k8s.ApiClient) -> None:
        self.api = api

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        method, url, headers, _, _ = self.api.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        # The client serialises JSON and structured-YAML bodies itself; a string would be
        # encoded twice.
        resp = self.api.call_api(method, url, headers, body, _request_timeout=30)
        data = resp.read()  # type: ignore[no-untyped-call]
        if resp.status >= 400:
            raise KubeError(resp.status, _reason(data), what)
        return cast(dict[str, Any], json.loads(data)) if data else {}

    def list(
        self, res: Resource, namespace: str | None = None, *, labels: str = ""
    ) -> list[dict[str, Any]]:
        """Every item, following `continue` tokens."""
        query: list[tuple[str, str]] = [("limit", "500")]
        if labels:
            query.append(("labelSelector", labels))
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            page = self._call(
                "GET",
                res.path(namespace),
                f"listing {res.plural}",
                query=query + ([("continue", token)] if token else []),
            )
            items += page.get("items") or []
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    def get(self, res: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self._call("GET", res.path(namespace, name), _what(res, namespace, name))
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def create(self, res: Resource, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        meta = body["metadata"]
        name = meta.get("name") or meta.get("generateName", "")
        return self._call("POST", res.path(namespace), _what(res, namespace, name), body=body)

    def replace(self, res: Resource, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT: fails with 409 when `metadata.resourceVersion` is stale (optimistic locking)."""
        name = body["metadata"]["name"]
        return self._call("PUT", res.path(namespace, name), _what(res, namespace, name), body=body)

    def apply(self, body: Any) -> dict[str, Any]:
        """Server-side apply as `meshgate`, taking over fields another manager set."""
        res = _BY_KIND[str(body["kind"])]
        meta = body["metadata"]
        return self._call(
            "PATCH",
            res.path(meta["namespace"], meta["name"]),
            _what(res, meta["namespace"], meta["name"]),
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
            body=body,
            content_type="application/apply-patch+yaml",
        )

    def delete(self, res: Resource, namespace: str, name: str) -> None:
        try:
            self._call("DELETE", res.path(namespace, name), _what(res, namespace, name))
        except KubeError as exc:
            if exc.status != 404:
                raise


def _what(res: Resource, namespace: str, name: str) -> str:
    return f"{res.plural} {namespace}/{name}"


def _reason(data: bytes) -> str:
    # The Status `reason` is one CamelCase word from a fixed set; its `message` may quote the
    # object we sent, so it is never used.
    try:
        reason = json.loads(data).get("reason")
    except (ValueError, AttributeError):
        return "Error"
    return reason if isinstance(reason, str) and reason.isalpha() else "Error"
