"""Every watch the operator opens, registered in one place: which events reach which controller.

One kopf event handler per resource. It updates the routing controller's store, decides with
`Relevance` whether the event can change anything a controller builds, and marks those
controllers in the runtime; nothing else. No handler adds a finalizer, patches the object it saw,
logs a body or decides what to write: the level-based reconciles do, and each relists what it
reads on its forced runs, so a missed event is wrong only until the next resync.

Who wants what:
- routing: meshgate's kinds, Services, EndpointSlices, Namespaces, Pods (their labels), TLS
  Secrets and the Secrets edge policies name, the generated ConfigMaps, Deployments and PDBs,
  and the Gateway API kinds when served.
- identity: ServiceAccounts, injected Pods, Namespaces, Gateways (both APIs),
  PeerAuthentications, identity Secrets and the CA Secret, the STRICT NetworkPolicies.
- injection: the webhook configuration it applies.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import kopf

from meshgate.api.v1alpha1.registry import KINDS
from meshgate.gatewayapi.objects import store_kind
from meshgate.identity.network_policy import COMPONENT as POLICY_COMPONENT
from meshgate.kube import edge_secrets
from meshgate.kube.rest import GATEWAY_API_GATEWAY, GATEWAY_API_KINDS, Kind
from meshgate.ownership import COMPONENT_LABEL, INJECTED_LABEL, MANAGED_BY_KEY, MANAGER
from meshgate.runtime import Runtime

from .reconcile import Reconciler
from .relevance import Relevance

ROUTING, IDENTITY, INJECTION = "routing", "identity", "injection"
# Identity controllers act on these meshgate kinds; the routing controller on all of them.
IDENTITY_KINDS = frozenset({"Gateway", "PeerAuthentication"})
GENERATED = frozenset({"ConfigMap", "Deployment", "PodDisruptionBudget"})
TLS_TYPE = "kubernetes.io/tls"

# Coroutines: kopf runs them in its event loop, beside the runtime (a plain function would run
# in kopf's thread pool, one hop and one queue further from the mark).
Handler = Callable[..., Coroutine[Any, Any, None]]


@dataclass
class Watched:
    """What the handlers need: the runtime, and what each served controller is told about.
    `routing` None: the routing controller is not served (likewise the identity CA and the
    webhook configuration name for the identity and injection controllers)."""

    runtime: Runtime
    routing: Reconciler | None = None
    identity_ca: tuple[str, str] | None = None  # (namespace, name) of the CA Secret
    webhook_config: str | None = None  # the MutatingWebhookConfiguration the injector applies
    gateway_api: bool = False
    relevance: Relevance = field(default_factory=Relevance)

    @property
    def identity(self) -> bool:
        return self.identity_ca is not None


@dataclass(frozen=True)
class Watch:
    """One watched resource and its handler."""

    id: str
    kind: Kind
    handler: Handler


def _meta(body: kopf.Body | dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    meta = body.get("metadata") or {}
    return (
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
        dict(meta.get("labels") or {}),
    )


def _ours(labels: dict[str, str], component: str) -> bool:
    return labels.get(MANAGED_BY_KEY) == MANAGER and labels.get(COMPONENT_LABEL) == component


class _Routing:
    """The routing controller's side of every event: record it in the store, mark when relevant."""

    def __init__(self, w: Watched, routing: Reconciler) -> None:
        self.w, self.routing = w, routing

    def mark(self, kind: str, ns: str, name: str) -> None:
        self.w.runtime.mark(ROUTING, (kind, ns, name))

    def observed(self, kind: str, type: str | None, body: kopf.Body) -> dict[str, Any] | None:
        """The raw body when the store changed."""
        raw = dict(body)
        return raw if self.routing.store.observe(kind, type, raw) else None

    def plain(self, kind: str, type: str | None, body: kopf.Body) -> None:
        if self.observed(kind, type, body) is not None:
            self.mark(kind, *_meta(body)[:2])

    def custom(self, kind: str, type: str | None, body: kopf.Body) -> bool:
        """meshgate's kinds and the Gateway API's: relevant when new, deleted or the spec moved.
        Whether it was (a status written back is not).

        Decided from the event, whatever the store says: our own status write records the
        server's answer, which carries a user's spec change made meanwhile, so the change's own
        event finds the store already holding it. Gated on the store, that change was never
        marked and waited for an unrelated event (seconds)."""
        raw = dict(body)
        self.routing.store.observe(kind, type, raw)
        if self.w.relevance.custom(kind, type, raw):
            self.mark(kind, *_meta(body)[:2])
            return True
        return False

    def generated(self, kind: str, type: str | None, body: kopf.Body) -> None:
        raw = self.observed(kind, type, body)
        if raw is not None and self.w.relevance.generated(kind, type, raw, self.routing.applied):
            self.mark(kind, *_meta(body)[:2])

    def pod(self, type: str | None, body: kopf.Body) -> None:
        """Pods matter for their labels only (DestinationRule subsets): their status churns."""
        ns, name, _ = _meta(body)
        store = self.routing.store
        before = store.get("Pod", ns, name)
        if not store.observe("Pod", type, dict(body)):
            return
        after = store.get("Pod", ns, name)
        if before is None or after is None or _meta(before)[2] != _meta(after)[2]:
            self.mark("Pod", ns, name)

    def secret(self, type: str | None, body: kopf.Body) -> None:
        ns, name, _ = _meta(body)
        if body.get("type") == TLS_TYPE:
            self.plain("Secret", type, body)
        # The set the last reconcile read; a Secret named later is read by that later reconcile.
        if (ns, name) in edge_secrets.referenced:
            self.mark("Secret", ns, name)


def watches(w: Watched) -> list[Watch]:
    """What to watch for the served controllers, one handler per resource."""
    runtime = w.runtime
    routing = _Routing(w, w.routing) if w.routing is not None else None
    out: list[Watch] = []

    def identity_mark(kind: str, body: kopf.Body) -> None:
        runtime.mark(IDENTITY, (kind, *_meta(body)[:2]))

    def custom(stored: str, to_identity: bool) -> Handler:
        """meshgate's kinds and the Gateway API's, stored as `stored`."""

        async def handler(type: str | None, body: kopf.Body, **_: Any) -> None:
            relevant = routing.custom(stored, type, body) if routing is not None else True
            # Identity reads these objects' names and specs, never their status: a Gateway's
            # status rewritten after each Route change must not cost an identity pass.
            if to_identity and relevant:
                identity_mark(stored, body)

        return handler

    custom_kinds = [
        (info.plural, Kind(info.group, info.version, info.plural, info.kind), info.kind)
        for info in KINDS
    ]
    if w.gateway_api:
        # Stored under their own names: `Gateway` alone is meshgate.io's kind.
        custom_kinds += [
            (f"gateway-api-{k.plural}", k, store_kind(k.kind)) for k in GATEWAY_API_KINDS
        ]
    for watch_id, kind, stored in custom_kinds:
        to_identity = w.identity and (kind.kind in IDENTITY_KINDS or kind == GATEWAY_API_GATEWAY)
        if routing is not None or to_identity:
            out.append(Watch(watch_id, kind, custom(stored, to_identity)))

    if routing is not None or w.identity:

        async def namespace(type: str | None, body: kopf.Body, **_: Any) -> None:
            if routing is not None:
                routing.plain("Namespace", type, body)
            if w.identity:
                identity_mark("Namespace", body)

        async def pod(type: str | None, body: kopf.Body, **_: Any) -> None:
            if routing is not None:
                routing.pod(type, body)
            if w.identity and _meta(body)[2].get(INJECTED_LABEL) == "true":
                identity_mark("Pod", body)

        async def secret(type: str | None, body: kopf.Body, **_: Any) -> None:
            if routing is not None:
                routing.secret(type, body)
            if w.identity:
                ns, name, labels = _meta(body)
                if _ours(labels, "identity") or (ns, name) == w.identity_ca:
                    identity_mark("Secret", body)

        out += [
            Watch("namespaces", Kind("", "v1", "namespaces", "Namespace", False), namespace),
            Watch("pods", Kind("", "v1", "pods", "Pod"), pod),
            Watch("secrets", Kind("", "v1", "secrets", "Secret"), secret),
        ]

    if routing is not None:

        def plain(kind: str) -> Handler:
            async def handler(type: str | None, body: kopf.Body, **_: Any) -> None:
                routing.plain(kind, type, body)

            return handler

        def generated(kind: str) -> Handler:
            async def handler(type: str | None, body: kopf.Body, **_: Any) -> None:
                if _meta(body)[2].get(MANAGED_BY_KEY) == MANAGER:
                    routing.generated(kind, type, body)

            return handler

        out += [
            Watch("services", Kind("", "v1", "services", "Service"), plain("Service")),
            Watch(
                "endpointslices",
                Kind("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
                plain("EndpointSlice"),
            ),
            Watch("configmaps", Kind("", "v1", "configmaps", "ConfigMap"), generated("ConfigMap")),
            Watch(
                "deployments",
                Kind("apps", "v1", "deployments", "Deployment"),
                generated("Deployment"),
            ),
            Watch(
                "poddisruptionbudgets",
                Kind("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"),
                generated("PodDisruptionBudget"),
            ),
        ]

    if w.identity:

        def identity_plain(kind: str) -> Handler:
            async def handler(body: kopf.Body, **_: Any) -> None:
                identity_mark(kind, body)

            return handler

        async def network_policy(body: kopf.Body, **_: Any) -> None:
            if _ours(_meta(body)[2], POLICY_COMPONENT):
                identity_mark("NetworkPolicy", body)

        out += [
            Watch(
                "serviceaccounts",
                Kind("", "v1", "serviceaccounts", "ServiceAccount"),
                identity_plain("ServiceAccount"),
            ),
            Watch(
                "networkpolicies",
                Kind("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy"),
                network_policy,
            ),
        ]

    if w.webhook_config is not None:
        config_name = w.webhook_config

        async def webhook_configuration(body: kopf.Body, **_: Any) -> None:
            # Any change or deletion of our configuration is answered by applying it again.
            if _meta(body)[1] == config_name:
                runtime.mark(INJECTION, ("MutatingWebhookConfiguration", "", config_name))

        out.append(
            Watch(
                "mutatingwebhookconfigurations",
                Kind(
                    "admissionregistration.k8s.io",
                    "v1",
                    "mutatingwebhookconfigurations",
                    "MutatingWebhookConfiguration",
                    False,
                ),
                webhook_configuration,
            )
        )
    return out


def register(w: Watched) -> list[str]:
    """Register every watch with kopf's default registry; their ids."""
    found = watches(w)
    for watch in found:
        k = watch.kind
        kopf.on.event(k.group, k.version, k.plural, id=f"meshgate-{watch.id}")(watch.handler)
    return [watch.id for watch in found]
