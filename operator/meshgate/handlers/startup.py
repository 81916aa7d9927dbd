"""Start-up and clean-up of the operator: kopf configured once (its login from the operator's own
credentials), the one runtime started with the served controllers, the sidecar injector served,
the peering objects and the GatewayClass made.

`operator.py` builds `Served` from the settings read once and calls `register`, which registers the
startup handlers for what is served (and, when injection is on, imports `meshgate.inject.webhook`,
whose import registers the admission handlers). The settings mappings are pure
(`inject_settings`, `webhook_settings`); the handlers do the I/O. Nothing here decides what the
injector patches.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import kopf

from meshgate import __version__
from meshgate.gatewayapi import CONTROLLER_NAME
from meshgate.gatewayapi import GROUP as GATEWAY_API_GROUP
from meshgate.identity.reconcile import IdentityReconciler
from meshgate.inject.names import NATIVE_SIDECAR_MINOR
from meshgate.inject.settings import InjectSettings, ProxyResources
from meshgate.inject.webhook_config import FailurePolicy, WebhookSettings, cluster_role_owner
from meshgate.kube.credentials import Credentials
from meshgate.kube.rest import Kind, KubeError, Rest
from meshgate.ownership import MANAGED_BY
from meshgate.runtime import Runtime
from meshgate.settings import Settings

from .health import address, app, serve
from .reconcile import Reconciler

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
        config_server=settings.push_dial_address if settings.push_port else "",
        config_server_id=settings.push_identity if settings.push_port else "",
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
        tls_secret=settings.webhook_tls_secret,
        identity_check_seconds=settings.webhook_identity_check_seconds,
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


def connection_info(credentials: Credentials) -> kopf.ConnectionInfo:
    """kopf's login, from the credentials the operator's own client uses: one source, one
    order (never kopf's own search, which tries the ServiceAccount before `$KUBECONFIG`)."""
    return kopf.ConnectionInfo(
        server=credentials.server,
        ca_path=credentials.ca_file,
        ca_data=credentials.ca_pem,
        insecure=credentials.insecure or None,
        token=credentials.bearer(),
        username=credentials.username,
        password=credentials.password,
        certificate_data=credentials.cert_pem,
        private_key_data=credentials.key_pem,
        default_namespace=credentials.namespace,
    )


@dataclass
class Served:
    """What this process serves, built once from the settings read at start-up."""

    settings: Settings
    rest: Rest
    runtime: Runtime
    routing: Reconciler | None = None
    identity: IdentityReconciler | None = None
    injection: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


# A start-up step: kopf's settings, its memo, what is served.
Start = Callable[[kopf.OperatorSettings, kopf.Memo, Served], Awaitable[None]]


LIST_CHUNK = 200
WORKER_IDLE_SECONDS = 0.5


def configure_kopf(kopf_settings: kopf.OperatorSettings, settings: Settings) -> None:
    kopf_settings.posting.enabled = False  # meshgate posts its own events, on outcome changes only
    kopf_settings.watching.server_timeout = 300
    kopf_settings.watching.client_timeout = 330
    kopf_settings.watching.connect_timeout = 10
    # Memory at a cold start, when kopf lists every watched kind at once: a page at a time
    # rather than each kind's whole list decoded together, and each object's worker (which
    # keeps the object's last body while it idles) gone soon after its event instead of 5 s.
    kopf_settings.watching.chunk_size = LIST_CHUNK
    kopf_settings.queueing.idle_timeout = WORKER_IDLE_SECONDS
    kopf_settings.peering.standalone = not settings.peering
    kopf_settings.peering.name = settings.peering_name
    kopf_settings.peering.clusterwide = not settings.namespaces


async def start_runtime(kopf_settings: kopf.OperatorSettings, _: kopf.Memo, served: Served) -> None:
    """Configure kopf, then run the served controllers in the one runtime (and /healthz and
    /metrics beside the routing controller, whose reconciles they report)."""
    settings = served.settings
    configure_kopf(kopf_settings, settings)
    if served.routing is not None:
        metrics = served.routing.metrics

        def queue_depth(n: int) -> None:
            metrics.queue_depth = n

        served.routing.start_status_lane()  # statuses never hold a change's configs back
        served.runtime.add(served.routing, on_queue=queue_depth)
        host, port = address(settings)
        runner = await serve(app(metrics, settings.resync_seconds, time.time()), port, host)
        served.tasks.append(asyncio.create_task(_keep(runner)))
    if served.identity is not None:
        served.runtime.add(served.identity)
        identity = settings.identity
        log.info(
            "identity controller started (CA Secret %s/%s%s, validity %.0fs)",
            settings.operator_namespace,
            identity.ca_secret,
            ", user-supplied" if identity.ca_supplied else "",
            identity.workload_validity.total_seconds(),
        )
    served.tasks.append(asyncio.create_task(served.runtime.run(), name="meshgate-runtime"))
    log.info(
        "meshgate operator started (controllers %s, debounce %.3fs, resync %.0fs)",
        ", ".join(served.runtime.controllers) or "none yet",
        settings.debounce_seconds,
        settings.resync_seconds,
    )


async def _keep(runner: Any) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def stop_runtime(served: Served) -> None:
    for task in served.tasks:
        task.cancel()
    await asyncio.gather(*served.tasks, return_exceptions=True)
    if served.routing is not None:
        await asyncio.to_thread(served.routing.close)


async def start_peering(_: kopf.OperatorSettings, __: kopf.Memo, served: Served) -> None:
    settings = served.settings
    created = await asyncio.to_thread(ensure_peering, served.rest, settings)
    log.info("kopf peering %r (created: %s)", settings.peering_name, created or "none")


async def start_gateway_class(_: kopf.OperatorSettings, __: kopf.Memo, served: Served) -> None:
    outcome = await asyncio.to_thread(ensure_gateway_class, served.rest, served.settings)
    log.info("GatewayClass %r: %s", served.settings.gateway_class, outcome)


async def start_admission(
    kopf_settings: kopf.OperatorSettings, memo: kopf.Memo, served: Served
) -> None:
    """Serve the injector, apply its webhook configuration, and hand the controller that keeps
    them served to the runtime."""
    from meshgate.inject.webhook import MEMO_KEY, configure_admission

    settings = served.settings
    hook = webhook_settings(settings)
    controller = await configure_admission(
        kopf_settings, memo, inject_settings(settings), hook, api=served.rest
    )
    if not settings.injection_native_sidecar:
        # configure_admission picks by the cluster's version; the chart's value can only lower it.
        injector = memo[MEMO_KEY]
        memo[MEMO_KEY] = dataclasses.replace(
            injector, settings=sidecar_kind(injector.settings, False)
        )
    served.runtime.add(controller)
    log.info(
        "sidecar injector served on %s:%d, called at %s",
        hook.listen_addr,
        hook.listen_port,
        hook.url or f"service {hook.operator_namespace}/{hook.service_name}:{hook.service_port}",
    )


def register(served: Served) -> list[str]:
    """Register the start-up and clean-up handlers for what is served; their ids. kopf runs
    start-up handlers in this order, all before the first watch event."""
    wanted: list[tuple[str, Start]] = [("meshgate-runtime", start_runtime)]
    if served.settings.peering:
        wanted.append(("meshgate-peering", start_peering))
    if served.routing is not None and gateway_class_body(served.settings) is not None:
        wanted.append(("meshgate-gateway-class", start_gateway_class))
    if served.injection:
        from meshgate.inject import webhook  # noqa: F401 - importing registers the handlers

        wanted.append(("meshgate-admission", start_admission))
    for handler_id, start in wanted:
        kopf.on.startup(id=handler_id)(_bound(start, served))

    @kopf.on.login(id="meshgate-login")
    async def _login(**_: Any) -> kopf.ConnectionInfo:
        # Read again at every login (kopf logs in again on a 401): a rotated ServiceAccount
        # token, a kubeconfig's exec plugin run anew.
        return connection_info(await asyncio.to_thread(served.rest.credentials.reload))

    @kopf.on.cleanup(id="meshgate-runtime-stop")
    async def _stop(**_: Any) -> None:
        await stop_runtime(served)

    return [handler_id for handler_id, _ in wanted]


def _bound(start: Start, served: Served) -> Callable[..., Awaitable[None]]:
    async def handler(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
        await start(settings, memo, served)

    return handler
