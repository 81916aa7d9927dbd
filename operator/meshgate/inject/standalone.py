"""Run the injector alone: `kopf run --standalone -m meshgate.inject.standalone`.

For the local control plane, the integration tests and debugging; in a cluster the operator
imports `meshgate.inject.webhook` and calls `configure_admission` from its own startup. Settings
come from the environment (names below). This module must hold no injection logic.

    MESHGATE_WEBHOOK_URL            https://127.0.0.1:9443 (unset: a Service reference)
    MESHGATE_WEBHOOK_LISTEN_ADDR    127.0.0.1
    MESHGATE_WEBHOOK_PORT           9443
    MESHGATE_WEBHOOK_CONFIG_NAME    meshgate-sidecar-injector
    MESHGATE_WEBHOOK_FAILURE_POLICY Fail | Ignore
    MESHGATE_WEBHOOK_TLS_SECRET     meshgate-webhook-tls (in the operator namespace)
    MESHGATE_WEBHOOK_IDENTITY_CHECK_SECONDS  60
    MESHGATE_OPERATOR_NAMESPACE     meshgate-system
    MESHGATE_PROXY_IMAGE            the proxy image
    MESHGATE_INJECTED_VERSION       recorded in meshgate.io/injected-version
"""

from __future__ import annotations

import os
from typing import Any, cast

import kopf

from meshgate import __version__

from . import webhook
from .settings import InjectSettings
from .webhook_config import FailurePolicy, WebhookSettings


def settings_from_env(env: dict[str, str]) -> tuple[InjectSettings, WebhookSettings]:
    ns = env.get("MESHGATE_OPERATOR_NAMESPACE", "meshgate-system")
    defaults = InjectSettings()
    inject = InjectSettings(
        proxy_image=env.get("MESHGATE_PROXY_IMAGE", defaults.proxy_image),
        injected_version=env.get("MESHGATE_INJECTED_VERSION", __version__),
        operator_namespace=ns,
    )
    policy = env.get("MESHGATE_WEBHOOK_FAILURE_POLICY", "Fail")
    if policy not in ("Fail", "Ignore"):
        raise ValueError(f"MESHGATE_WEBHOOK_FAILURE_POLICY must be Fail or Ignore, not {policy!r}")
    hook = WebhookSettings(
        config_name=env.get("MESHGATE_WEBHOOK_CONFIG_NAME", WebhookSettings.config_name),
        operator_namespace=ns,
        url=env.get("MESHGATE_WEBHOOK_URL") or None,
        failure_policy=cast(FailurePolicy, policy),
        listen_addr=env.get("MESHGATE_WEBHOOK_LISTEN_ADDR", WebhookSettings.listen_addr),
        listen_port=int(env.get("MESHGATE_WEBHOOK_PORT", str(WebhookSettings.listen_port))),
        tls_secret=env.get("MESHGATE_WEBHOOK_TLS_SECRET", WebhookSettings.tls_secret),
        identity_check_seconds=float(
            env.get("MESHGATE_WEBHOOK_IDENTITY_CHECK_SECONDS", "")
            or WebhookSettings.identity_check_seconds
        ),
    )
    return inject, hook


@kopf.on.startup()
async def start_injector(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    inject, hook = settings_from_env(dict(os.environ))
    await webhook.configure_admission(settings, memo, inject, hook)
