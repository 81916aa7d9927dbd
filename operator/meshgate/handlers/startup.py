"""Start-up of what runs beside the reconcile loop: the sidecar injector and kopf peering, and
the watch on the Secrets edge policies name (a rotated API key is a reconcile, not a resync).

`run.py` imports this module (and, when injection is on, `meshgate.inject.webhook`, whose import
registers the admission handlers). The startup handlers here configure kopf once: the admission
server and the MutatingWebhookConfiguration, and the peering object kopf coordinates replicas
through. The settings mapping is pure (`inject_settings`, `webhook_settings`); the handlers do
the I/O. Nothing here decides what the injector patches.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import kopf

from meshgate import __version__
from meshgate.gatewayapi import CONTROLLER_NAME
from meshgate.gatewayapi import GROUP as GATEWAY_API_GROUP
from meshgate.inject.names import NATIVE_SIDECAR_MINOR
from meshgate.inject.settings import InjectSettings, ProxyResources
from meshgate.inject.webhook_config import FailurePolicy, WebhookSettings, cluster_role_owner
from meshgate.kube import edge_secrets
from meshgate.kube.rest import Kind, KubeError, Rest, connect
from meshgate.ownership import MANAGED_BY
from meshgate.settings import Settings

log = logging.getLogger("meshgate.startup")

CLUSTER_PEERING = Kind("kopf.dev", "v1", "clusterkopfpeerings", "ClusterKopfPeering", False)
NAMESPACED_PEERING = Kind("kopf.dev", "v1", "kopfpeerings", "KopfPeering")


def inject_settings(settings: Settings) -> InjectSettings:
    return InjectSettings(
        proxy_image=settings.proxy_image,
        injected_version=__version__,
        operator_namespace=settings.operator_namespace,
        trust_domain=settings.trust_domain,
        resources=ProxyResources(
            cpu_request=settings.proxy_cpu_request,
            memory_request=settings.proxy_memory_request,
            memory_limit=settings.proxy_memory_limit,
        ),
        image_pull_policy=settings.image_pull_policy,
        proxy_log_level=settings.proxy_log_level,
    )


def sidecar_kind(inject: InjectSettings, native: bool) -> InjectSettings:
    """`injection.nativeSidecar: false` asks for a plain container even where the cluster
    supports native sidecars; true leaves the choice to the cluster's version."""
    if native:
        return inject
    return dataclasses.replace(inject, kube_minor=min(inject.kube_minor, NATIVE_SIDECAR_MINOR - 1))


def webhook_settings(settings: Settings) -> WebhookSettings:
    policy: FailurePolicy = "Ignore" if settings.injection_failure_policy == "Ignore" else "Fail"
    return WebhookSettings(
        config_name=settings.webhook_config_name,
        operator_namespace=settings.operator_namespace,
        url=settings.admission_url,
        service_name=settings.webhook_service,
        service_port=settings.webhook_service_port,
        failure_policy=policy,
        listen_addr=settings.webhook_listen_addr,
        listen_port=settings.webhook_port,
        owner_cluster_role=settings.owner_cluster_role,
    )


def peering_objects(settings: Settings) -> list[tuple[Kind, str, dict[str, Any]]]:
    """The peering objects kopf looks for: one cluster-wide, or one per watched namespace."""
    if not settings.peering:
        return []
    if not settings.namespaces:
        body = {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering"}
        return [(CLUSTER_PEERING, "", {**body, "metadata": {"name": settings.peering_name}})]
    return [
        (
            NAMESPACED_PEERING,
            ns,
            {
                "apiVersion": "kopf.dev/v1",
                "kind": "KopfPeering",
                "metadata": {"name": settings.peering_name, "namespace": ns},
            },
        )
        for ns in settings.namespaces
    ]


CLUSTER_ROLE = Kind("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False)


def ensure_peering(rest: Rest, settings: Settings) -> list[str]:
    """Create the peering objects that do not exist yet; returns the ones created. They are
    owned by the chart's ClusterRole when it is known, so `helm uninstall` removes them."""
    owner = _cluster_role_owner(rest, settings.owner_cluster_role)
    created = []
    for kind, ns, body in peering_objects(settings):
        if owner is not None:
            body["metadata"]["ownerReferences"] = [owner]
        try:
            rest.create(kind, ns, body)
        except Exception as exc:
            if getattr(exc, "status", None) == 409:  # already there: another replica made it
                continue
            raise
        created.append(f"{kind.kind}/{ns + '/' if ns else ''}{settings.peering_name}")
    return created


def _cluster_role_owner(rest: Rest, name: str) -> dict[str, str] | None:
    if not name:
        return None
    try:
        role = rest.read(CLUSTER_ROLE, "", name)
    except KubeError as exc:
        role, why = None, str(exc)
    else:
        why = "not found"
    if role is None:
        log.warning(
            "ClusterRole %s: %s; what the operator creates outlives an uninstall", name, why
        )
        return None
    return cluster_role_owner(name, role["metadata"]["uid"])


GATEWAY_CLASS = Kind(GATEWAY_API_GROUP, "v1", "gatewayclasses", "GatewayClass", False)


def gateway_class_body(settings: Settings) -> dict[str, Any] | None:
    """The GatewayClass that hands Gateways to meshgate, or None when none is wanted. The
    operator creates it rather than the chart: when the chart also installs the Gateway API CRDs,
    Helm cannot map a GatewayClass in the same release (its kind does not exist yet when Helm
    builds the release), not even as a post-install hook."""
    if not (settings.gateway_api and settings.gateway_class):
        return None
    return {
        "apiVersion": f"{GATEWAY_API_GROUP}/v1",
        "kind": "GatewayClass",
        "metadata": {
            "name": settings.gateway_class,
            "labels": dict(MANAGED_BY),
        },
        "spec": {
            "controllerName": CONTROLLER_NAME,
            "description": "meshgate's gateway proxies (meshproxy)",
        },
    }


def ensure_gateway_class(rest: Rest, settings: Settings) -> str:
    """Create the GatewayClass when it does not exist; an existing one (the user's, or another
    replica's) is left as it is. Returns what happened, for the log."""
    body = gateway_class_body(settings)
    if body is None:
        return "none wanted"
    owner = _cluster_role_owner(rest, settings.owner_cluster_role)
    if owner is not None:
        body["metadata"]["ownerReferences"] = [owner]
    try:
        rest.create(GATEWAY_CLASS, "", body)
    except Exception as exc:
        status = getattr(exc, "status", None)
        if status == 409:
            return "exists"
        if status == 404:
            return "not created: the Gateway API CRDs are not installed (gatewayAPI.installCRDs)"
        raise
    return "created"


@kopf.on.startup(id="meshgate-peering")
async def start_peering(**_: Any) -> None:
    settings = Settings.from_env()
    if not settings.peering:
        return
    created = await asyncio.to_thread(ensure_peering, Rest(connect()), settings)
    log.info("kopf peering %r (created: %s)", settings.peering_name, created or "none")


@kopf.on.startup(id="meshgate-gateway-class")
async def start_gateway_class(**_: Any) -> None:
    settings = Settings.from_env()
    if gateway_class_body(settings) is None:
        return
    outcome = await asyncio.to_thread(ensure_gateway_class, Rest(connect()), settings)
    log.info("GatewayClass %r: %s", settings.gateway_class, outcome)


async def start_admission(kopf_settings: kopf.OperatorSettings, memo: kopf.Memo) -> None:
    """Serve the injector and apply its webhook configuration. Registered by `run.py` only when
    injection is enabled, together with the webhook's handlers."""
    from meshgate.inject.webhook import MEMO_KEY, configure_admission

    settings = Settings.from_env()
    hook = webhook_settings(settings)
    await configure_admission(kopf_settings, memo, inject_settings(settings), hook)
    if not settings.injection_native_sidecar:
        # configure_admission picks by the cluster's version; the chart's value can only lower it.
        injector = memo[MEMO_KEY]
        memo[MEMO_KEY] = dataclasses.replace(
            injector, settings=sidecar_kind(injector.settings, False)
        )
    log.info(
        "sidecar injector served on %s:%d, called at %s",
        hook.listen_addr,
        hook.listen_port,
        hook.url or f"service {hook.operator_namespace}/{hook.service_name}:{hook.service_port}",
    )


def register_admission() -> None:
    """Import the webhook's admission handlers and the startup that serves them."""
    from meshgate.inject import webhook  # noqa: F401 - importing registers the handlers

    @kopf.on.startup(id="meshgate-admission")
    async def _start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
        await start_admission(settings, memo)


def _edge_secret(name: str | None, namespace: str | None, **_: Any) -> bool:
    # The set the last reconcile read; a Secret named later is read by that later reconcile.
    return (namespace or "", name or "") in edge_secrets.referenced


@kopf.on.event("", "v1", "secrets", when=_edge_secret, id="meshgate-edge-secrets")
def edge_secret_changed(**_: Any) -> None:
    from .watch import State

    if State.loop is not None:
        State.loop.mark()
