"""Raw JSON requests to the API server, from the agent's threads.

Bodies stay plain dicts (what the API server sends) rather than the client's generated models:
the agent copies whole sub-objects (volumes, probes, env) and the models would only get in the
way. This module must never retry or hide an error: callers decide what a failure means. An API
server that cannot be reached (restarting, say) is an `ApiException` with status 0, as the
client reports a TLS failure, so every loop that rides out a failed call rides out that too, as
a kubelet does.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import urllib3
from kubernetes import config
from kubernetes.client.exceptions import ApiException

Body = dict[str, Any]

__all__ = ["ApiException", "Body", "Kube"]


class Kube:
    """One API client for the agent; every call runs in a worker thread."""

    def __init__(self, kubeconfig: str) -> None:
        self._client = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._client.close()

    def _call(
        self,
        method: str,
        path: str,
        body: Body | None,
        query: dict[str, str] | None,
        content_type: str,
    ) -> Body:
        method, url, headers, payload, _ = self._client.param_serialize(
            method=method,
            resource_path=path,
            query_params=list((query or {}).items()),
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self._client.call_api(method, url, header_params=headers, body=payload)
        except urllib3.exceptions.HTTPError as exc:
            raise ApiException(status=0, reason=f"API server unreachable: {exc}") from exc
        raw = response.read()
        if not 200 <= response.status < 300:
            raise ApiException(
                status=response.status, reason=response.reason, body=raw.decode(errors="replace")
            )
        return json.loads(raw) if raw else {}

    async def request(
        self,
        method: str,
        path: str,
        body: Body | None = None,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Body:
        return await asyncio.to_thread(self._call, method, path, body, query, content_type)

    async def get(self, path: str, query: dict[str, str] | None = None) -> Body:
        return await self.request("GET", path, query=query)

    async def get_or_none(self, path: str) -> Body | None:
        try:
            return await self.get(path)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    async def merge_patch(self, path: str, body: Body) -> Body:
        return await self.request("PATCH", path, body, content_type="application/merge-patch+json")
