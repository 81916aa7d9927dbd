"""Who needs a mesh identity: which ServiceAccounts and Gateways get an identity Secret.

The rule, chosen so a sidecar never waits for its Secret and no Secret outlives its use:

- every ServiceAccount in a meshed namespace (label `meshgate.io/inject=enabled`), so the
  identity exists before the first injected Pod starts (the sidecar's Secret volume is not
  optional: kubelet holds the Pod until the Secret appears);
- the ServiceAccount of every meshed Pod (label `meshgate.io/injected: "true"`) anywhere, which
  covers Pods injected by annotation in namespaces without the label;
- every Gateway, under the ServiceAccount name `meshgate-gw-<gateway>` in its namespace: the
  gateway proxy is a mesh client with an identity of its own, distinct from whatever
  ServiceAccount its Pods run as.

Namespaces being deleted are left out: the API server refuses writes into them. Pure: bodies in,
a sorted tuple out; this module must never import kopf or the Kubernetes client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from meshgate.certs.secret import identity_secret_name
from meshgate.compile.paths import gateway_identity_secret
from meshgate.ownership import INJECT_ENABLED, INJECT_LABEL, INJECTED_LABEL
from meshproxy.tls.identity import spiffe_id

SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
GATEWAY_ACCOUNT_PREFIX = "meshgate-gw-"

Source = Literal["ServiceAccount", "Pod", "Gateway"]
Body = Mapping[str, Any]


@dataclass(frozen=True, order=True)
class WantedIdentity:
    """One identity Secret the mesh needs."""

    namespace: str
    secret_name: str
    service_account: str
    spiffe_id: str
    source: Source


def gateway_service_account(gateway: str) -> str:
    return f"{GATEWAY_ACCOUNT_PREFIX}{gateway}"


def meshed_namespaces(namespaces: Iterable[Body], pods: Iterable[Body]) -> frozenset[str]:
    """Namespaces the mesh spans: labelled for injection, or holding a meshed Pod."""
    namespaces = list(namespaces)
    with_pods = {_namespace(p) for p in pods if _labels(p).get(INJECTED_LABEL) == "true"}
    return frozenset((_labelled(namespaces) | with_pods) & _live(namespaces))


def wanted_identities(
    *,
    trust_domain: str,
    namespaces: Iterable[Body],
    service_accounts: Iterable[Body],
    pods: Iterable[Body],
    gateways: Iterable[Body],
) -> tuple[WantedIdentity, ...]:
    """Every identity Secret the cluster needs now; a name no SPIFFE ID can hold is skipped."""
    namespaces = list(namespaces)
    live, labelled = _live(namespaces), _labelled(namespaces)
    wanted: dict[tuple[str, str], WantedIdentity] = {}

    def add(namespace: str, secret: str, account: str, source: Source) -> None:
        if namespace not in live or (namespace, secret) in wanted:
            return
        try:
            identity = spiffe_id(trust_domain, namespace, account)
        except ValueError:
            return  # cannot be named in a certificate; the proxy could not use it either
        wanted[(namespace, secret)] = WantedIdentity(namespace, secret, account, identity, source)

    for sa in service_accounts:
        if _namespace(sa) in labelled:
            add(_namespace(sa), identity_secret_name(_name(sa)), _name(sa), "ServiceAccount")
    for pod in pods:
        if _labels(pod).get(INJECTED_LABEL) != "true" or _finished(pod):
            continue
        account = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        add(_namespace(pod), identity_secret_name(account), account, "Pod")
    for gw in gateways:
        account = gateway_service_account(_name(gw))
        add(_namespace(gw), gateway_identity_secret(_name(gw)), account, "Gateway")
    return tuple(sorted(wanted.values()))


def _live(namespaces: list[Body]) -> set[str]:
    return {_name(ns) for ns in namespaces if not _terminating(ns)}


def _labelled(namespaces: list[Body]) -> set[str]:
    return {
        _name(ns)
        for ns in namespaces
        if _labels(ns).get(INJECT_LABEL) == INJECT_ENABLED and _name(ns) not in SYSTEM_NAMESPACES
    }


def _meta(body: Body) -> Mapping[str, Any]:
    meta = body.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _name(body: Body) -> str:
    return str(_meta(body).get("name") or "")


def _namespace(body: Body) -> str:
    return str(_meta(body).get("namespace") or "")


def _labels(body: Body) -> Mapping[str, str]:
    labels = _meta(body).get("labels")
    return labels if isinstance(labels, Mapping) else {}


def _terminating(ns: Body) -> bool:
    phase = (ns.get("status") or {}).get("phase")
    return bool(_meta(ns).get("deletionTimestamp")) or phase == "Terminating"


def _finished(pod: Body) -> bool:
    # A completed Job Pod no longer handshakes; its account keeps an identity only if
    # something else still needs it.
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
