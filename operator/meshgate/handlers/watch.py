"""kopf registrations: every watched event updates the store and, when it changed something a
reconcile reads, marks the cluster dirty; nothing else.

Configured once in `@kopf.on.startup`. No handler adds a finalizer or patches the object it saw,
and none decides what to write: all decisions happen in the level-based reconcile, which reads
the store these handlers keep (and relists it from the API server on every resync).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, ClassVar

import kopf

from meshgate.api.v1alpha1.registry import KINDS
from meshgate.gatewayapi.objects import store_kind
from meshgate.kube.rest import GATEWAY_API_KINDS, Rest, connect
from meshgate.ownership import MANAGED_BY
from meshgate.settings import Settings

from .health import address, app, serve
from .loop import DirtyLoop
from .reconcile import Reconciler
from .relevance import Relevance

log = logging.getLogger("meshgate.watch")

OUTPUT_LABELS = dict(MANAGED_BY)


class State:
    """What the handlers share, set up at startup (kopf handlers are module-level functions)."""

    loop: DirtyLoop | None = None
    relevance = Relevance()
    tasks: ClassVar[list[asyncio.Task[None]]] = []


def _observed(type: str | None, body: kopf.Body) -> tuple[DirtyLoop, str, dict[str, Any]] | None:
    """Record the event in the store; the loop, kind and body when the store changed."""
    loop = State.loop
    if loop is None:
        return None
    kind, raw = str(body.get("kind", "")), dict(body)
    return (loop, kind, raw) if loop.reconciler.store.observe(kind, type, raw) else None


def _mark(type: str | None, body: kopf.Body, **_: Any) -> None:
    if (seen := _observed(type, body)) is not None:
        seen[0].mark()


def _mark_custom(type: str | None, body: kopf.Body, **_: Any) -> None:
    if (seen := _observed(type, body)) is not None:
        loop, kind, raw = seen
        if State.relevance.custom(kind, type, raw):
            loop.mark()


def _mark_generated(type: str | None, body: kopf.Body, **_: Any) -> None:
    if (seen := _observed(type, body)) is not None:
        loop, kind, raw = seen
        if State.relevance.generated(kind, type, raw, loop.reconciler.applied):
            loop.mark()


def _mark_pod(type: str | None, body: kopf.Body, **_: Any) -> None:
    """Pods matter for their labels only (DestinationRule subsets): their status churns."""
    loop = State.loop
    if loop is None:
        return
    meta = body.get("metadata") or {}
    store = loop.reconciler.store
    before = store.get("Pod", meta.get("namespace", ""), meta.get("name", ""))
    if not store.observe("Pod", type, dict(body)):
        return
    after = store.get("Pod", meta.get("namespace", ""), meta.get("name", ""))
    if before is None or after is None or _labels(before) != _labels(after):
        loop.mark()


def _labels(body: dict[str, Any]) -> dict[str, str]:
    return dict((body.get("metadata") or {}).get("labels") or {})


def _gateway_api_handler(kind: str) -> Any:
    """A marking handler for one Gateway API kind: stored under its own name (`Gateway` alone
    is meshgate.io's kind); relevant when new, deleted or its spec moved, as meshgate's own."""
    stored = store_kind(kind)

    def handler(type: str | None, body: kopf.Body, **_: Any) -> None:
        loop = State.loop
        if loop is None:
            return
        raw = dict(body)
        if loop.reconciler.store.observe(stored, type, raw) and State.relevance.custom(
            stored, type, raw
        ):
            loop.mark()

    handler.__name__ = f"mark_{kind.lower()}"
    return handler


def register_gateway_api() -> None:
    """Watch the Gateway API kinds; only when the operator serves them (their CRDs may not
    exist otherwise). kopf watches a resource once its CRD appears."""
    for kind in GATEWAY_API_KINDS:
        kopf.on.event(kind.group, kind.version, kind.plural, id=f"gateway-api-{kind.plural}")(
            _gateway_api_handler(kind.kind)
        )


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    ours = Settings.from_env()
    settings.posting.enabled = False  # meshgate posts its own events, on outcome changes only
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 10
    settings.peering.standalone = not ours.peering
    settings.peering.name = ours.peering_name
    settings.peering.clusterwide = not ours.namespaces
    reconciler = Reconciler(rest=Rest(connect()), settings=ours)
    State.loop = DirtyLoop(reconciler, ours.debounce_seconds)
    State.loop.mark(force=True)
    State.tasks = [asyncio.create_task(State.loop.run()), asyncio.create_task(_resync(ours))]
    host, port = address(ours)
    runner = await serve(app(reconciler.metrics, ours.resync_seconds, time.time()), port, host)
    State.tasks.append(asyncio.create_task(_keep(runner)))
    log.info(
        "meshgate operator started (debounce %.3fs, resync %.0fs)",
        ours.debounce_seconds,
        ours.resync_seconds,
    )


async def _resync(settings: Settings) -> None:
    # A standby replica (peering) resyncs too: server-side apply of identical content is a
    # no-op, so the only writer of changes stays the active replica's event path.
    while True:
        await asyncio.sleep(settings.resync_seconds)
        if State.loop is not None:
            State.loop.mark(force=True)


async def _keep(runner: Any) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


@kopf.on.cleanup()
async def stop(**_: Any) -> None:
    for task in State.tasks:
        task.cancel()
    await asyncio.gather(*State.tasks, return_exceptions=True)


for info in KINDS:
    kopf.on.event(info.group, info.version, info.plural)(_mark_custom)
kopf.on.event("", "v1", "services")(_mark)
kopf.on.event("", "v1", "namespaces")(_mark)
kopf.on.event("discovery.k8s.io", "v1", "endpointslices")(_mark)
kopf.on.event("", "v1", "pods")(_mark_pod)
kopf.on.event("", "v1", "secrets", field="type", value="kubernetes.io/tls")(_mark)
kopf.on.event("", "v1", "configmaps", labels=OUTPUT_LABELS)(_mark_generated)
kopf.on.event("apps", "v1", "deployments", labels=OUTPUT_LABELS)(_mark_generated)
kopf.on.event("policy", "v1", "poddisruptionbudgets", labels=OUTPUT_LABELS)(_mark_generated)
