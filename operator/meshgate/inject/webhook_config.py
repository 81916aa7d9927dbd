"""The MutatingWebhookConfiguration that makes the API server call the injector, as a pure dict.

Two webhooks share one endpoint, because a webhook's namespaceSelector and objectSelector are
ANDed and we need an OR ("namespace labelled" or "Pod asks"):

* `namespace.inject.meshgate.io`: Pods in namespaces labelled `meshgate.io/inject=enabled`.
  Failure policy from settings (default `Fail`: no Pod there starts un-meshed).
* `pod.inject.meshgate.io`: Pods anywhere else that may ask for themselves. An objectSelector
  sees labels only, so with `pod_opt_in="annotation"` (default) every Pod creation outside the
  excluded namespaces reaches us, and this webhook is always `Ignore` so an operator outage never
  blocks Pods cluster-wide. With `pod_opt_in="label"` the API server calls us only for Pods
  labelled `meshgate.io/inject=true`.

Pure: settings and a CA bundle in, a body out. It must never import kopf or the Kubernetes client.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Literal

from meshgate.ownership import MANAGED_BY

from . import names

FailurePolicy = Literal["Fail", "Ignore"]
# kopf routes `POST /<handler id>` to that handler, so each webhook gets its own path and the
# handler knows which selector matched without asking the API server.
NAMESPACE_HANDLER = "inject-namespace"
POD_HANDLER = "inject-pod"
NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class WebhookSettings:
    """Where the API server reaches the injector, and how it treats failures."""

    config_name: str = "meshgate-sidecar-injector"
    operator_namespace: str = "meshgate-system"
    # Exactly one of `url` (e.g. https://127.0.0.1:9443, for a control plane without cluster
    # DNS) or a Service reference (the normal in-cluster way).
    url: str | None = None
    service_name: str = "meshgate-webhook"
    service_port: int = 443
    failure_policy: FailurePolicy = "Fail"
    pod_opt_in: Literal["annotation", "label"] = "annotation"
    timeout_seconds: int = 5
    # Where the injector itself listens (kopf's WebhookServer).
    listen_addr: str = "127.0.0.1"
    listen_port: int = 9443
    # The Secret in `operator_namespace` holding the serving identity all replicas share, and
    # how often each replica re-reads it (a leaf another replica renewed, a deleted Secret).
    tls_secret: str = "meshgate-webhook-tls"  # noqa: S105 - a Secret name, not a secret
    identity_check_seconds: float = 60.0
    # The chart's cluster-scoped ClusterRole, deleted by `helm uninstall`: named as the
    # configuration's owner, the garbage collector deletes the configuration with it (a
    # cluster-scoped object can only be owned by a cluster-scoped one). Empty: no owner.
    owner_cluster_role: str = ""
    # Its ownerReference, once the operator has read the ClusterRole's uid.
    owner: dict[str, str] | None = None


def cluster_role_owner(name: str, uid: str) -> dict[str, str]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "name": name,
        "uid": uid,
    }


def client_config(settings: WebhookSettings, ca_pem: bytes, handler: str) -> dict[str, Any]:
    bundle = base64.b64encode(ca_pem).decode("ascii")
    if settings.url is not None:
        return {"url": f"{settings.url.rstrip('/')}/{handler}", "caBundle": bundle}
    return {
        "service": {
            "name": settings.service_name,
            "namespace": settings.operator_namespace,
            "port": settings.service_port,
            "path": f"/{handler}",
        },
        "caBundle": bundle,
    }


def ca_bundles(body: dict[str, Any] | None) -> set[str]:
    """The caBundles a configuration's webhooks carry (empty for none or no configuration)."""
    hooks = (body or {}).get("webhooks") or []
    return {str((h.get("clientConfig") or {}).get("caBundle", "")) for h in hooks}


def _excluded(settings: WebhookSettings) -> dict[str, Any]:
    never = sorted({*names.SYSTEM_NAMESPACES, settings.operator_namespace})
    return {"key": NAME_LABEL, "operator": "NotIn", "values": never}


def _webhook(
    name: str,
    handler: str,
    settings: WebhookSettings,
    ca_pem: bytes,
    *,
    namespace_exprs: list[dict[str, Any]],
    object_exprs: list[dict[str, Any]],
    failure_policy: FailurePolicy,
) -> dict[str, Any]:
    return {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "clientConfig": client_config(settings, ca_pem, handler),
        "rules": [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE"],
                "resources": ["pods"],
                "scope": "Namespaced",
            }
        ],
        "namespaceSelector": {"matchExpressions": namespace_exprs},
        "objectSelector": {"matchExpressions": object_exprs},
        "matchPolicy": "Equivalent",
        "sideEffects": "None",
        "timeoutSeconds": settings.timeout_seconds,
        # Called again if a later webhook changes the Pod; the patch is empty when injected.
        "reinvocationPolicy": "IfNeeded",
        "failurePolicy": failure_policy,
    }


def mutating_webhook_configuration(settings: WebhookSettings, ca_pem: bytes) -> dict[str, Any]:
    # A Pod labelled `meshgate.io/inject=false` is not worth a call at all.
    not_opted_out = {"key": names.INJECT_KEY, "operator": "NotIn", "values": ["false"]}
    pod_asks = (
        [{"key": names.INJECT_KEY, "operator": "In", "values": ["true"]}]
        if settings.pod_opt_in == "label"
        else [not_opted_out]
    )
    enabled = {"key": names.INJECT_KEY, "operator": "In", "values": [names.NAMESPACE_ENABLED]}
    not_enabled = {**enabled, "operator": "NotIn"}
    metadata: dict[str, Any] = {
        "name": settings.config_name,
        "labels": dict(MANAGED_BY),
    }
    if settings.owner is not None:
        metadata["ownerReferences"] = [settings.owner]
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": metadata,
        "webhooks": [
            _webhook(
                f"namespace.inject.{names.GROUP}",
                NAMESPACE_HANDLER,
                settings,
                ca_pem,
                namespace_exprs=[enabled, _excluded(settings)],
                object_exprs=[not_opted_out],
                failure_policy=settings.failure_policy,
            ),
            _webhook(
                f"pod.inject.{names.GROUP}",
                POD_HANDLER,
                settings,
                ca_pem,
                namespace_exprs=[not_enabled, _excluded(settings)],
                object_exprs=pod_asks,
                failure_policy="Ignore",
            ),
        ],
    }
