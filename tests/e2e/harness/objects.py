"""The ConfigMaps, Secrets and ServiceAccount tokens the node's Pods refer to, read per sync.

Read fresh on every sync pass (a few GETs), so a changed ConfigMap reaches the mounted files
within one pass. Tokens come from the TokenRequest API and are reused until near expiry. This
module must never write to the API server except to request tokens.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from .kubeapi import ApiException, Kube

Body = dict[str, Any]
TOKEN_SECONDS = 3600
_PATHS = {"configmap": "configmaps", "secret": "secrets"}


class Objects:
    """A per-pass snapshot: `get(kind, ns, name)` is the volumes' `Lookup`."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self._snapshot: dict[tuple[str, str, str], Body | None] = {}
        self._tokens: dict[tuple[str, str], tuple[float, Body]] = {}

    def new_pass(self) -> None:
        self._snapshot = {}

    async def fetch(self, kind: str, ns: str, name: str) -> Body | None:
        key = (kind, ns, name)
        if key not in self._snapshot:
            if kind == "token":
                self._snapshot[key] = await self._token(ns, name)
            else:
                self._snapshot[key] = await self.kube.get_or_none(
                    f"/api/v1/namespaces/{ns}/{_PATHS[kind]}/{name}"
                )
        return self._snapshot[key]

    def get(self, kind: str, ns: str, name: str) -> Body | None:
        return self._snapshot.get((kind, ns, name))

    def as_text(self, ns: str) -> dict[tuple[str, str], Body]:
        """This namespace's objects with Secret data decoded, for env vars."""
        found: dict[tuple[str, str], Body] = {}
        for (kind, obj_ns, name), obj in self._snapshot.items():
            if obj_ns != ns or obj is None or kind == "token":
                continue
            data = dict(obj.get("data") or {})
            if kind == "secret":
                data = {k: base64.b64decode(v).decode(errors="replace") for k, v in data.items()}
            found[(kind, name)] = {"data": data}
        return found

    async def _token(self, ns: str, sa: str) -> Body | None:
        cached = self._tokens.get((ns, sa))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        request = {"spec": {"expirationSeconds": TOKEN_SECONDS}}
        try:
            body = await self.kube.request(
                "POST", f"/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token", request
            )
        except ApiException:
            return None
        token = {"token": body["status"]["token"]}
        self._tokens[(ns, sa)] = (time.monotonic() + TOKEN_SECONDS / 2, token)
        return token
