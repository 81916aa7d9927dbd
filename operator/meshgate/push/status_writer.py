"""Publish this replica's proxy counts and write the sums where users look (`status`): every
`PERIOD` seconds, only what changed. A Gateway's count goes to its `status.proxies` (a merge patch
of the status subresource: the reconcile's own status fields are left alone), a meshed
namespace's to its annotation `meshgate.io/proxies`. Runs in every replica; failures are logged
and retried next period, and never touch the config server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from meshgate.kube.rest import CONFIG_MAP, MESHGATE_KINDS, NAMESPACE, KubeError, NotFound, Rest
from meshproxy.delivery.target import Target

from . import status
from .server import ConfigServer

log = logging.getLogger("meshgate.push.status")

PERIOD = 2.0
# A report is rewritten at least this often, so other replicas see it fresh.
HEARTBEAT = status.FRESH_SECONDS / 3


class StatusWriter:
    def __init__(self, server: ConfigServer, rest: Rest, namespace: str, replica: str) -> None:
        self._server = server
        self._rest = rest
        self._namespace = namespace
        self._replica = replica
        self._reported: tuple[Any, float] | None = None
        self._written: dict[Target, status.ProxyCount] = {}

    async def run(self) -> None:
        while True:
            await asyncio.sleep(PERIOD)
            try:
                await asyncio.to_thread(self.once)
            except (KubeError, OSError) as exc:
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
        items = self._rest.list(CONFIG_MAP, self._namespace, labels="=".join(status.REPORT_LABEL))
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
            except NotFound:
                log.info("proxy status of %s not written: 404 NotFound", target)
            except KubeError as exc:
                if exc.status not in (403, 409, 422):
                    raise
                log.info("proxy status of %s not written: %s %s", target, exc.status, exc.reason)
            self._written[target] = count

    def _put(self, body: dict[str, Any]) -> None:
        try:
            self._rest.replace(CONFIG_MAP, body)
        except NotFound:
            self._rest.create(CONFIG_MAP, self._namespace, body)

    def _delete_report(self, cm: dict[str, Any]) -> None:
        meta = cm.get("metadata") or {}
        name = str(meta.get("name"))
        try:
            # Preconditioned on the version read: a report its replica refreshed meanwhile stays.
            self._rest.delete(
                CONFIG_MAP, self._namespace, name, version=str(meta.get("resourceVersion") or "")
            )
            log.info("deleted the abandoned proxy report %s", name)
        except KubeError as exc:
            if exc.status != 409:
                raise

    def _write(self, target: Target, count: status.ProxyCount) -> None:
        if target.kind == "gateway":
            self._rest.merge_patch(
                MESHGATE_KINDS["Gateway"],
                target.namespace,
                target.name,
                status.gateway_status_patch(count),
                status=True,
            )
        else:
            self._rest.merge_patch(NAMESPACE, "", target.namespace, status.namespace_patch(count))
