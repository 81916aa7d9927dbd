"""The admission webhook: kopf handlers that answer the API server's Pod CREATE calls with the
sidecar patch, `configure_admission`, which the operator's startup calls to serve them, and what
keeps them served: the shared serving identity re-read in every replica, and the webhook
configuration applied again whenever it changes or is deleted.

Importing this module registers the handlers with kopf's default registry; it registers no
startup handler of its own (the operator has one; `meshgate.inject.standalone` is the one for
running the injector alone). It must never build the patch itself: that is `patch.inject`, the
same function the offline CLI uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import kopf

from meshgate.certs.serving import ServingCertificate
from meshgate.kube.rest import connect

from . import jsonpatch_ops, kubeio, names, serving_identity_store, webhook_config
from .patch import inject
from .policy import NamespaceInfo
from .serving_identity import Endpoint, WebhookIdentity, leaf_to_serve, served_pem
from .settings import InjectSettings
from .webhook_config import NAMESPACE_HANDLER, POD_HANDLER, WebhookSettings

MEMO_KEY = "meshgate_injector"
SERVING_KEY = "meshgate_webhook_serving"
# How often kopf's admission server looks for a renewed certificate file.
CERT_RELOAD_SECONDS = 10.0
# The namespace read only adds a Pod Security hint; it must not eat the webhook's 5 s budget.
NAMESPACE_READ_TIMEOUT = 1.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Injector:
    settings: InjectSettings
    api: Any  # kubernetes.client.ApiClient

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
    """What this replica serves and what it applies. Updated in place, never replaced: kopf
    gives each watched object a shallow copy of the memo, and they must all see the update."""

    hook: WebhookSettings
    api: Any
    endpoint: Endpoint
    pem_path: Path
    identity: WebhookIdentity
    served: ServingCertificate
    task: asyncio.Task[None] | None = None

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


async def _settle(api: Any, hook: WebhookSettings, endpoint: Endpoint) -> WebhookIdentity:
    return await asyncio.to_thread(
        serving_identity_store.settle,
        api,
        namespace=hook.operator_namespace,
        name=hook.tls_secret,
        endpoint=endpoint,
        now=datetime.now(UTC),
    )


async def _apply(state: Serving) -> None:
    await asyncio.to_thread(kubeio.apply_webhook_configuration, state.api, state.configuration())


async def refresh_identity(state: Serving) -> None:
    """Serve what the Secret holds now (a leaf another replica renewed, a new CA after the
    Secret was deleted), renewing it first if it is due; repair the configuration if it is gone
    or carries another caBundle. The rest of the configuration is the event handler's job."""
    identity = await _settle(state.api, state.hook, state.endpoint)
    served = leaf_to_serve(identity, state.endpoint, datetime.now(UTC), state.served)
    if served.cert_pem != state.served.cert_pem:
        _write_private(state.pem_path, served_pem(served))
        log.info("serving a new webhook certificate, valid until %s", served.not_after)
    state.identity, state.served = identity, served
    current = await asyncio.to_thread(
        kubeio.read_webhook_configuration, state.api, state.hook.config_name
    )
    wanted = webhook_config.ca_bundles(state.configuration())
    if webhook_config.ca_bundles(current) != wanted:
        log.warning(
            "webhook configuration %s is missing or has another caBundle; applying it",
            state.hook.config_name,
        )
        await _apply(state)


async def _keep_identity(state: Serving) -> None:
    while True:
        await asyncio.sleep(state.hook.identity_check_seconds)
        try:
            await refresh_identity(state)
        except Exception:  # the next round retries; the current certificate stays served
            log.exception("could not check the webhook serving identity")


async def configure_admission(
    settings: kopf.OperatorSettings,
    memo: kopf.Memo,
    inject_settings: InjectSettings,
    hook: WebhookSettings,
    *,
    cert_dir: Path | None = None,
    api: Any = None,
) -> None:
    """Serve the injector over HTTPS and make the API server call it. Call from a startup handler.

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
    identity = await _settle(api, hook, endpoint)
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
    memo[SERVING_KEY] = state
    await _apply(state)
    state.task = asyncio.create_task(_keep_identity(state), name="meshgate-webhook-identity")


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


def _own_configuration(name: str | None, memo: kopf.Memo, **_: Any) -> bool:
    state = memo.get(SERVING_KEY)
    return isinstance(state, Serving) and name == state.hook.config_name


@kopf.on.event(
    "admissionregistration.k8s.io",
    "v1",
    "mutatingwebhookconfigurations",
    id="meshgate-webhook-configuration",
    when=_own_configuration,
)
async def keep_webhook_configuration(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    """Any change or deletion of our configuration is answered by applying it again. Applying
    what is already there changes nothing, so our own apply's event ends here."""
    state: Serving = memo[SERVING_KEY]
    if event["type"] == "DELETED":
        log.warning(
            "webhook configuration %s was deleted; applying it again", state.hook.config_name
        )
    await _apply(state)


@kopf.on.cleanup(id="meshgate-webhook-identity")
async def stop_identity_checks(memo: kopf.Memo, **_: Any) -> None:
    state = memo.get(SERVING_KEY)
    if isinstance(state, Serving) and state.task is not None:
        state.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await state.task
