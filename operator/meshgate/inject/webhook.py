"""The admission webhook: kopf handlers that answer the API server's Pod CREATE calls with the
sidecar patch, `configure_admission`, which the operator's startup calls to serve them, and the
injection controller that keeps them served: the shared serving identity re-read in every
replica, and the webhook configuration applied again whenever it changes or is deleted.

Importing this module registers the admission handlers with kopf's default registry; it registers
no startup handler and no watch (the operator's `meshgate.handlers` does both). It must never
build the patch itself: that is `patch.inject`, the same function the offline CLI uses.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, cast
from urllib.parse import urlsplit

import kopf

from meshgate.certs.serving import ServingCertificate
from meshgate.kube.rest import connect
from meshgate.runtime import Wake

from . import jsonpatch_ops, kubeio, names, serving_identity_store, webhook_config
from .patch import inject
from .policy import NamespaceInfo
from .serving_identity import Endpoint, WebhookIdentity, leaf_to_serve, served_pem
from .settings import InjectSettings
from .webhook_config import NAMESPACE_HANDLER, POD_HANDLER, WebhookSettings

MEMO_KEY = "meshgate_injector"
# How often kopf's admission server looks for a renewed certificate file.
CERT_RELOAD_SECONDS = 10.0
# The namespace read only adds a Pod Security hint; it must not eat the webhook's 5 s budget.
NAMESPACE_READ_TIMEOUT = 1.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Injector:
    settings: InjectSettings
    api: Any  # meshgate.kube.rest.Rest

    async def namespace(self, name: str, *, enabled: bool) -> NamespaceInfo:
        """The namespace as the patch sees it. Whether it is enabled is what the API server's
        namespaceSelector already decided (which webhook called), not a second, racy read."""
        try:
            labels = await asyncio.to_thread(
                kubeio.namespace_labels, self.api, name, NAMESPACE_READ_TIMEOUT
            )
        except Exception:  # the labels only feed a warning; injection goes on without them
            log.warning("could not read namespace %s; no Pod Security hint", name, exc_info=True)
            labels = {}
        labels.pop(names.INJECT_KEY, None)
        if enabled:
            labels[names.INJECT_KEY] = names.NAMESPACE_ENABLED
        return NamespaceInfo(name, labels)


async def _mutate(
    *,
    enabled: bool,
    body: kopf.Body,
    patch: kopf.Patch,
    warnings: list[str],
    memo: kopf.Memo,
    logger: kopf.Logger,
) -> None:
    injector: Injector = memo[MEMO_KEY]
    pod: dict[str, Any] = {k: v for k, v in body.items()}
    ns_name = str(body.metadata.namespace or "")
    result = inject(pod, await injector.namespace(ns_name, enabled=enabled), injector.settings)
    warnings.extend(result.warnings)
    logger.info(f"sidecar injection: {result.decision.reason}")
    if result.ops:
        ops = result.ops
        # kopf diffs the body before and after these functions into the JSON patch it returns.
        patch.fns.append(lambda raw: jsonpatch_ops.apply_in_place(cast(dict[str, Any], raw), ops))


@kopf.on.mutate("", "v1", "pods", id=NAMESPACE_HANDLER, operations=["CREATE"])
async def inject_namespace_pod(
    body: kopf.Body,
    patch: kopf.Patch,
    warnings: list[str],
    memo: kopf.Memo,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    await _mutate(enabled=True, body=body, patch=patch, warnings=warnings, memo=memo, logger=logger)


@kopf.on.mutate("", "v1", "pods", id=POD_HANDLER, operations=["CREATE"])
async def inject_opted_in_pod(
    body: kopf.Body,
    patch: kopf.Patch,
    warnings: list[str],
    memo: kopf.Memo,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    await _mutate(
        enabled=False, body=body, patch=patch, warnings=warnings, memo=memo, logger=logger
    )


def _endpoint(hook: WebhookSettings) -> Endpoint:
    url_host = urlsplit(hook.url).hostname if hook.url is not None else None
    return Endpoint(hook.service_name, hook.operator_namespace, url_host or None)


@dataclass
class Serving:
    """What this replica serves and what it applies. Updated in place by the injection
    controller."""

    hook: WebhookSettings
    api: Any
    endpoint: Endpoint
    pem_path: Path
    identity: WebhookIdentity
    served: ServingCertificate

    def configuration(self) -> dict[str, Any]:
        return webhook_config.mutating_webhook_configuration(
            self.hook, self.identity.ca_pem.encode("ascii")
        )


def _write_private(path: Path, data: bytes) -> None:
    """Replace the file in one rename: the admission server re-reads it when its bytes change
    and must never see half of it."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _settle(api: Any, hook: WebhookSettings, endpoint: Endpoint) -> WebhookIdentity:
    return serving_identity_store.settle(
        api,
        namespace=hook.operator_namespace,
        name=hook.tls_secret,
        endpoint=endpoint,
        now=datetime.now(UTC),
    )


def _apply(state: Serving) -> None:
    kubeio.apply_webhook_configuration(state.api, state.configuration())


def refresh_identity(state: Serving, *, reapply: bool) -> None:
    """Serve what the Secret holds now (a leaf another replica renewed, a new CA after the
    Secret was deleted), renewing it first if it is due; apply the configuration when it is
    gone, carries another caBundle, or (`reapply`) an event says someone changed it. Applying
    what is already there changes nothing, so our own apply's event ends at the next one."""
    identity = _settle(state.api, state.hook, state.endpoint)
    served = leaf_to_serve(identity, state.endpoint, datetime.now(UTC), state.served)
    if served.cert_pem != state.served.cert_pem:
        _write_private(state.pem_path, served_pem(served))
        log.info("serving a new webhook certificate, valid until %s", served.not_after)
    state.identity, state.served = identity, served
    current = kubeio.read_webhook_configuration(state.api, state.hook.config_name)
    if current is None:
        log.warning(
            "webhook configuration %s was deleted; applying it again", state.hook.config_name
        )
    elif webhook_config.ca_bundles(current) != webhook_config.ca_bundles(state.configuration()):
        log.warning(
            "webhook configuration %s has another caBundle; applying it", state.hook.config_name
        )
    elif not reapply:
        return
    _apply(state)


@dataclass
class InjectionController:
    """The injection controller of the operator's runtime: keeps this replica's webhook served.

    Runs when the webhook configuration changes (the watch registry marks it) and every
    `identity_check_seconds` (to pick up a leaf another replica renewed). Blocking: the runtime
    runs it in a worker thread."""

    name: ClassVar[str] = "injection"
    state: Serving

    def reconcile(self, wake: Wake) -> float | None:
        refresh_identity(self.state, reapply=bool(wake.changed))
        return self.state.hook.identity_check_seconds


async def configure_admission(
    settings: kopf.OperatorSettings,
    memo: kopf.Memo,
    inject_settings: InjectSettings,
    hook: WebhookSettings,
    *,
    cert_dir: Path | None = None,
    api: Any = None,
) -> InjectionController:
    """Serve the injector over HTTPS and make the API server call it; the controller that keeps
    it served, for the runtime. Call from a startup handler.

    Every replica serves the one identity kept in Secret `hook.tls_secret` (created by the first
    replica, its leaf renewed by whichever replica finds it due) and server-side applies the
    webhook configuration with that CA as caBundle: identical content from every replica, so
    applying it is a no-op and replicas never fight. kopf's own configuration management stays
    off: it cannot express namespaceSelector, reinvocationPolicy or a 5 s timeout.
    """
    api = api if api is not None else connect()
    # The cluster's own version picks native sidecar or plain container, whatever was configured.
    minor = await asyncio.to_thread(kubeio.kube_minor, api)
    inject_settings = replace(inject_settings, kube_minor=minor)
    hook = await _with_owner(api, hook)
    endpoint = _endpoint(hook)
    identity = await asyncio.to_thread(_settle, api, hook, endpoint)
    served = leaf_to_serve(identity, endpoint, datetime.now(UTC))
    cert_dir = cert_dir or Path(tempfile.mkdtemp(prefix="meshgate-webhook-"))
    pem_path = cert_dir / "tls.pem"
    _write_private(pem_path, served_pem(served))
    settings.admission.server = kopf.WebhookServer(
        addr=hook.listen_addr,
        port=hook.listen_port,
        # One file holds key and certificate, so a renewal swaps both at once.
        certfile=str(pem_path),
        pkeyfile=str(pem_path),
        cadata=identity.ca_pem.encode("ascii"),
        file_check_interval=CERT_RELOAD_SECONDS,
    )
    settings.admission.managed = None
    memo[MEMO_KEY] = Injector(inject_settings, api)
    state = Serving(hook, api, endpoint, pem_path, identity, served)
    await asyncio.to_thread(_apply, state)
    return InjectionController(state)


async def _with_owner(api: Any, hook: WebhookSettings) -> WebhookSettings:
    """The settings with the ClusterRole as owner of the configuration, so `helm uninstall`
    (which deletes the ClusterRole) leaves no webhook calling a deleted operator."""
    if not hook.owner_cluster_role:
        return hook
    try:
        uid = await asyncio.to_thread(kubeio.cluster_role_uid, api, hook.owner_cluster_role)
    except Exception as exc:  # the webhook still works; only the clean-up is lost
        log.warning(
            "cannot read ClusterRole %s (%s): webhook configuration %s gets no owner and "
            "outlives the operator's uninstall; delete it by hand then",
            hook.owner_cluster_role,
            getattr(exc, "reason", None) or exc,
            hook.config_name,
        )
        return hook
    return replace(hook, owner=webhook_config.cluster_role_owner(hook.owner_cluster_role, uid))
