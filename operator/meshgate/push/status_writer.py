"""Publish this replica's proxy counts and write the sums where users look (`status`): every
`PERIOD` seconds, only what changed. A Gateway's count goes to its `status.proxies` (a merge patch
of the status subresource: the reconcile's own status fields are left alone), a meshed
namespace's to its annotation `meshgate.io/proxies`. Runs in every replica; failures are logged
and retried next period, and never touch the config server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from meshproxy.delivery.target import Target

from . import status
from .server import ConfigServer

log = logging.getLogger("meshgate.push.status")

PERIOD = 2.0
# A report is rewritten at least this often, so other replicas see it fresh.
HEARTBEAT = status.FRESH_SECONDS / 3


class StatusWriter:
    def __init__(
        self, server: ConfigServer, api: k8s.ApiClient, namespace: str, replica: str
    ) -> None:
        self._server = server
        # Typed Any: bodies stay dicts (the client accepts them), as everywhere in meshgate.
        self._core: Any = k8s.CoreV1Api(api)
        self._custom: Any = k8s.CustomObjectsApi(api)
        self._namespace = namespace
        self._replica = replica
        self._reported: tuple[Any, float] | None = None
        self._written: dict[Target, status.ProxyCount] = {}

    async def run(self) -> None:
        while True:
            await asyncio.sleep(PERIOD)
            try:
                await asyncio.to_thread(self.once)
            except (ApiException, OSError) as exc:
                log.info("proxy status: %s; again in %.0f s", exc, PERIOD)

    def once(self) -> None:
        now = time.monotonic()
        counts = self._server.proxies.counts(now)
        if (
            self._reported is None
            or self._reported[0] != counts
            or now - self._reported[1] > HEARTBEAT
        ):
            body = status.report_body(self._replica, self._namespace, counts, datetime.now(UTC))
            self._put(body)
            self._reported = (counts, now)
        listed = self._core.list_namespaced_config_map(
            self._namespace, label_selector="=".join(status.REPORT_LABEL), _preload_content=False
        )
        items = json.loads(listed.data).get("items") or []
        wall = datetime.now(UTC)
        for cm in items:
            if status.abandoned(cm, wall):
                self._delete_report(cm)
        sums = status.aggregate(
            (status.read_report(cm, wall) for cm in items), self._server.book.versions()
        )
        for target, count in sums.items():
            if self._written.get(target) == count:
                continue
            try:
                self._write(target, count)
            except ApiException as exc:
                if exc.status not in (403, 404, 409, 422):
                    raise
                log.info("proxy status of %s not written: %s %s", target, exc.status, exc.reason)
            self._written[target] = count

    def _put(self, body: dict[str, Any]) -> None:
        name = body["metadata"]["name"]
        try:
            self._core.replace_namespaced_config_map(name, self._namespace, body)
        except ApiException as exc:
            if exc.status != 404:
                raise
            self._core.create_namespaced_config_map(self._namespace, body)

    def _delete_report(self, cm: dict[str, Any]) -> None:
        meta = cm.get("metadata") or {}
        name = str(meta.get("name"))
        try:
            # Preconditioned on the version read: a report its replica refreshed meanwhile stays.
            self._core.delete_namespaced_config_map(
                name,
                self._namespace,
                body={"preconditions": {"resourceVersion": meta.get("resourceVersion")}},
            )
            log.info("deleted the abandoned proxy report %s", name)
        except ApiException as exc:
            if exc.status not in (404, 409):
                raise

    def _write(self, target: Target, count: status.ProxyCount) -> None:
        if target.kind == "gateway":
            self._custom.patch_namespaced_custom_object_status(
                "meshgate.io", "v1alpha1", target.namespace, "gateways", target.name,
                status.gateway_status_patch(count),
            )  # fmt: skip
        else:
            self._core.patch_namespace(target.namespace, status.namespace_patch(count))
