"""The admission webhook: kopf handlers that answer the API server's Pod CREATE calls with the
sidecar patch, and `configure_admission`, which the operator's startup calls to serve them.

Importing this module registers the handlers with kopf's default registry; it registers no
startup handler of its own (the operator has one; `meshgate.inject.standalone` is the one for
running the injector alone). It must never build the patch itself: that is `patch.inject`, the
same function the offline CLI uses.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import kopf

from . import jsonpatch_ops, kubeio, names, serving_cert, webhook_config
from .patch import inject
from .policy import NamespaceInfo
from .settings import InjectSettings
from .webhook_config import NAMESPACE_HANDLER, POD_HANDLER, WebhookSettings

MEMO_KEY = "meshgate_injector"
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


def _listen_hosts(hook: WebhookSettings) -> tuple[str, ...]:
    if hook.url is not None:
        host = urlsplit(hook.url).hostname or hook.listen_addr
        return (host,)
    ns = hook.operator_namespace
    return (f"{hook.service_name}.{ns}.svc", f"{hook.service_name}.{ns}.svc.cluster.local")


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

    A fresh serving certificate is issued on every start and the webhook configuration is
    server-side applied with its CA, so the caBundle always matches what is served and any drift
    in the configuration is repaired. kopf's own configuration management stays off: it cannot
    express namespaceSelector, reinvocationPolicy or a 5 s timeout.
    """
    api = api if api is not None else kubeio.api_client()
    # The cluster's own version picks native sidecar or plain container, whatever was configured.
    minor = await asyncio.to_thread(kubeio.kube_minor, api)
    inject_settings = replace(inject_settings, kube_minor=minor)
    cert_dir = cert_dir or Path(tempfile.mkdtemp(prefix="meshgate-webhook-"))
    files = serving_cert.issue(_listen_hosts(hook)).write(cert_dir)
    settings.admission.server = kopf.WebhookServer(
        addr=hook.listen_addr,
        port=hook.listen_port,
        certfile=str(files.certfile),
        pkeyfile=str(files.keyfile),
        cadata=files.ca_pem,
    )
    settings.admission.managed = None
    memo[MEMO_KEY] = Injector(inject_settings, api)
    body = webhook_config.mutating_webhook_configuration(hook, files.ca_pem)
    await asyncio.to_thread(kubeio.apply_webhook_configuration, api, body)
