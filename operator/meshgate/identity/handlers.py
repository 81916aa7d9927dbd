"""kopf registrations of the identity controller: watched events mark it dirty, one loop acts.

Importing this module registers the handlers (the operator imports it; `kopf run -m
meshgate.identity.handlers` runs it alone). Every event on a ServiceAccount, meshed Pod,
Namespace, Gateway, PeerAuthentication, identity or CA Secret, or generated NetworkPolicy only
marks the controller dirty; a single task debounces the burst and runs the level-based
reconcile, so a deleted identity Secret or NetworkPolicy comes back on its own delete event.

Renewal is a timed wake-up of the same loop: each reconcile returns when it next has work (the
earliest 2/3-of-life point of any certificate, at least once an hour) and the loop sleeps until
then. It is not a `@kopf.timer`: kopf timers run per object and put a finalizer on each, which
would block deleting an identity Secret, and with it a whole namespace, whenever the operator is
down. Only `@kopf.on.event` handlers are used for the same reason: they never patch the objects
they see (no finalizers, no last-handled-configuration annotation copying a Secret's data).

No handler here configures kopf itself (the operator's startup handler does) or logs a body.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any, ClassVar

import kopf

from meshgate.kube.rest import Rest, connect
from meshgate.ownership import COMPONENT_LABEL, INJECTED_LABEL, MANAGED_BY
from meshgate.settings import Settings

from .network_policy import COMPONENT as POLICY_COMPONENT
from .reconcile import IdentityReconciler
from .settings import IdentitySettings

log = logging.getLogger("meshgate.identity")

# A failing reconcile is retried after this long, doubling up to the cap.
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0


class IdentityLoop:
    """Debounced, single-flight reconciles, plus a wake-up when certificates come due."""

    def __init__(self, reconciler: IdentityReconciler, *, debounce: float, resync: float) -> None:
        self.reconciler = reconciler
        self.debounce = debounce
        self.resync = resync
        self._dirty = asyncio.Event()

    def mark(self) -> None:
        """Called by every watch event: O(1), never blocks."""
        self._dirty.set()

    async def run(self) -> None:
        wait = 0.0
        backoff = FIRST_BACKOFF
        while True:
            # A timeout means a certificate came due or the resync interval passed.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), timeout=wait)
            await asyncio.sleep(self.debounce)  # let the rest of a burst arrive
            self._dirty.clear()
            try:
                outcome = await asyncio.to_thread(self.reconciler.run)
            except Exception as exc:
                # The message of our own errors is key-free; a traceback's locals never print.
                log.warning("identity reconcile failed (%s); retrying in %.1fs", exc, backoff)
                wait, backoff = backoff, min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = FIRST_BACKOFF
            wait = min(outcome.next_check.total_seconds(), self.resync)
            if outcome.errors:
                wait = min(wait, MAX_BACKOFF)


class State:
    loop: IdentityLoop | None = None
    tasks: ClassVar[list[asyncio.Task[None]]] = []


def _mark(**_: Any) -> None:
    if State.loop is not None:
        State.loop.mark()


@kopf.on.startup(id="meshgate-identity-start")
async def start_identity(**_: Any) -> None:
    settings = Settings.from_env()
    identity = IdentitySettings.from_env()
    reconciler = IdentityReconciler(kube=Rest(connect()), settings=settings, identity=identity)
    State.loop = IdentityLoop(
        reconciler, debounce=settings.debounce_seconds, resync=settings.resync_seconds
    )
    State.tasks = [asyncio.create_task(State.loop.run())]
    log.info(
        "identity controller started (CA Secret %s/%s%s, validity %.0fs)",
        settings.operator_namespace,
        identity.ca_secret,
        ", user-supplied" if identity.ca_supplied else "",
        identity.workload_validity.total_seconds(),
    )


@kopf.on.cleanup(id="meshgate-identity-stop")
async def stop_identity(**_: Any) -> None:
    for task in State.tasks:
        task.cancel()
    await asyncio.gather(*State.tasks, return_exceptions=True)
    State.tasks = []
    State.loop = None


@functools.cache
def _ca_key() -> tuple[str, str]:
    return Settings.from_env().operator_namespace, IdentitySettings.from_env().ca_secret


def _ca_secret(name: str, namespace: str | None, **_: Any) -> bool:
    # The CA Secret may be the user's, without our labels; it is matched by name.
    return (namespace, name) == _ca_key()


_OURS = dict(MANAGED_BY)

kopf.on.event("", "v1", "serviceaccounts", id="identity-serviceaccounts")(_mark)
kopf.on.event("", "v1", "pods", labels={INJECTED_LABEL: "true"}, id="identity-pods")(_mark)
kopf.on.event("", "v1", "namespaces", id="identity-namespaces")(_mark)
kopf.on.event("meshgate.io", "v1alpha1", "gateways", id="identity-gateways")(_mark)


def register_gateway_api() -> None:
    """Gateway API Gateways need identities too; watched only when the operator serves them."""
    kopf.on.event(
        "gateway.networking.k8s.io", "v1", "gateways", id="identity-gateway-api-gateways"
    )(_mark)


kopf.on.event("meshgate.io", "v1alpha1", "peerauthentications", id="identity-peerauthentications")(
    _mark
)
kopf.on.event(
    "", "v1", "secrets", labels={**_OURS, COMPONENT_LABEL: "identity"}, id="identity-secrets"
)(_mark)
kopf.on.event("", "v1", "secrets", when=_ca_secret, id="identity-ca-secret")(_mark)
kopf.on.event(
    "networking.k8s.io",
    "v1",
    "networkpolicies",
    labels={**_OURS, COMPONENT_LABEL: POLICY_COMPONENT},
    id="identity-networkpolicies",
)(_mark)
