"""Read what one identity reconcile needs, by listing (never from a watch cache).

Listing each time means a reconcile right after a restart sees the whole cluster, not a cache
still filling. Identity Secrets are listed by our labels only, so nothing here reads a Secret
meshgate did not write (besides the CA, which `ca_store` reads). This module must never decide
anything or log an object.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meshgate.gatewayapi.objects import CONTROLLER_NAME
from meshgate.kube.rest import (
    GATEWAY_API_GATEWAY,
    GATEWAY_CLASS,
    MESHGATE_KINDS,
    NAMESPACE,
    NETWORK_POLICY,
    POD,
    SECRET,
    SERVICE_ACCOUNT,
    Kind,
    NotFound,
    Rest,
)
from meshgate.ownership import COMPONENT_LABEL, INJECTED_LABEL, MANAGED_SELECTOR

from .network_policy import COMPONENT as POLICY_COMPONENT

IDENTITY_SELECTOR = f"{MANAGED_SELECTOR},{COMPONENT_LABEL}=identity"
POLICY_SELECTOR = f"{MANAGED_SELECTOR},{COMPONENT_LABEL}={POLICY_COMPONENT}"

GATEWAY = MESHGATE_KINDS["Gateway"]
PEER_AUTHENTICATION = MESHGATE_KINDS["PeerAuthentication"]

Key = tuple[str, str]
Body = dict[str, Any]


@dataclass(frozen=True)
class IdentityState:
    namespaces: list[Body]
    service_accounts: list[Body]
    pods: list[Body]
    gateways: list[Body]
    peer_authentications: list[Body]
    identity_secrets: dict[Key, Body]
    network_policies: dict[Key, Body]


def read_state(
    kube: Rest,
    *,
    namespaces: tuple[str, ...],
    operator_namespace: str,
    gateway_api: bool = False,
) -> IdentityState:
    """`namespaces` empty means cluster-wide. The operator namespace's PeerAuthentications are
    always read: the mesh-wide one lives there even when it is not a watched namespace. With
    `gateway_api`, the Gateway API Gateways of meshgate's classes count as Gateways too: their
    proxies are mesh clients like a meshgate Gateway's."""

    def each(kind: Kind, labels: str = "", *, optional: bool = False) -> list[Body]:
        scopes: tuple[str | None, ...] = namespaces or (None,)
        items: list[Body] = []
        for ns in scopes:
            try:
                items += kube.list(kind, ns, labels=labels)
            except NotFound:
                # A meshgate CRD not installed yet is an empty list, not a failure.
                if not optional:
                    raise
        return items

    peers = each(PEER_AUTHENTICATION, optional=True)
    if namespaces and operator_namespace not in namespaces:
        with contextlib.suppress(NotFound):
            peers += kube.list(PEER_AUTHENTICATION, operator_namespace)
    return IdentityState(
        namespaces=kube.list(NAMESPACE),
        service_accounts=each(SERVICE_ACCOUNT),
        pods=each(POD, f"{INJECTED_LABEL}=true"),
        gateways=each(GATEWAY, optional=True)
        + (_standard_gateways(kube, each) if gateway_api else []),
        peer_authentications=peers,
        identity_secrets=_keyed(each(SECRET, IDENTITY_SELECTOR)),
        network_policies=_keyed(each(NETWORK_POLICY, POLICY_SELECTOR)),
    )


def _standard_gateways(kube: Rest, each: Callable[..., list[Body]]) -> list[Body]:
    """Gateway API Gateways whose GatewayClass names meshgate's controller (none when the
    Gateway API CRDs are not installed)."""
    try:
        classes = kube.list(GATEWAY_CLASS)
    except NotFound:
        return []
    ours = {
        (c.get("metadata") or {}).get("name")
        for c in classes
        if (c.get("spec") or {}).get("controllerName") == CONTROLLER_NAME
    }
    return [
        g
        for g in each(GATEWAY_API_GATEWAY, optional=True)
        if (g.get("spec") or {}).get("gatewayClassName") in ours
    ]


def _keyed(items: list[Body]) -> dict[Key, Body]:
    out: dict[Key, Body] = {}
    for item in items:
        meta = item.get("metadata") or {}
        out[(str(meta.get("namespace") or ""), str(meta.get("name") or ""))] = item
    return out
