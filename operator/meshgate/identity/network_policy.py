"""NetworkPolicies that make STRICT mTLS hold: PeerAuthentications in, NetworkPolicy bodies out.

Under STRICT a meshed Pod must be reachable only through its proxy, so each policy selects the
meshed Pods (`meshgate.io/injected: "true"`) the STRICT mode covers and admits ingress to the
proxy's inbound mTLS port (15006) and health port (15090) only. Pods without a sidecar are never
selected: they have no proxy to receive anything.

Mode resolution follows Istio: a workload PeerAuthentication (with a selector) beats the
namespace one (no selector), which beats the mesh-wide one (no selector, in the operator's
namespace); `UNSET` inherits; with nothing set the mode is PERMISSIVE. Port-level overrides do
not change the policy: plaintext to a PERMISSIVE port also arrives through 15006, where the proxy
tells the two apart.

NetworkPolicies only ever add allowed traffic, so a PERMISSIVE workload inside a STRICT
namespace cannot be carved out with an allow-all policy (that would also undo the user's own
policies for it). Instead the namespace policy's selector excludes it: "not (a=1 and b=2)" is
written as one policy per label, `a NotIn [1]` or `b NotIn [2]`, and several exceptions multiply
out into their combinations. Two workload policies that select the same Pods with different modes
are resolved by no rule in Istio; here the STRICT one wins (it gets a policy of its own), the
safer reading.

Pure: this module must never import kopf or the Kubernetes client.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

from pydantic import ValidationError

from meshgate.api.v1alpha1.peer_authentication import PeerAuthenticationSpec
from meshgate.ownership import COMPONENT_LABEL, INJECTED_LABEL, MANAGED_BY

INBOUND_PORT = 15006
ADMIN_PORT = 15090
COMPONENT = "strict-mtls"
LABELS = {**MANAGED_BY, COMPONENT_LABEL: COMPONENT}
SOURCE_ANNOTATION = "meshgate.io/peer-authentication"
NAME_PREFIX = "meshgate-strict-"
# More exception combinations than this means a namespace policy per combination stops being
# readable; past it the namespace policy is left out and the proxy alone enforces STRICT.
MAX_SPLIT = 16
_MAX_NAME = 253

Mode = Literal["STRICT", "PERMISSIVE", "DISABLE"]


class LabelRequirement(TypedDict):
    key: str
    operator: Literal["NotIn"]
    values: list[str]


class PodSelector(TypedDict):
    matchLabels: dict[str, str]
    matchExpressions: NotRequired[list[LabelRequirement]]


class PolicyPort(TypedDict):
    protocol: Literal["TCP"]
    port: int


class IngressRule(TypedDict):
    ports: list[PolicyPort]


class NetworkPolicySpec(TypedDict):
    podSelector: PodSelector
    policyTypes: list[Literal["Ingress"]]
    ingress: list[IngressRule]


class NetworkPolicyMetadata(TypedDict):
    name: str
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str]


class NetworkPolicyBody(TypedDict):
    apiVersion: Literal["networking.k8s.io/v1"]
    kind: Literal["NetworkPolicy"]
    metadata: NetworkPolicyMetadata
    spec: NetworkPolicySpec


@dataclass(frozen=True)
class _Peer:
    namespace: str
    name: str
    created: str
    labels: tuple[tuple[str, str], ...] | None  # None: namespace-wide
    mode: Mode | None  # None: UNSET, inherit


def strict_network_policies(
    peer_authentications: Iterable[Mapping[str, Any]],
    *,
    operator_namespace: str,
    meshed_namespaces: Iterable[str],
) -> list[NetworkPolicyBody]:
    """Every NetworkPolicy STRICT mode needs, sorted by namespace and name."""
    peers = sorted(
        (p for p in map(_peer, peer_authentications) if p is not None),
        key=lambda p: (p.created, p.namespace, p.name),
    )
    wide = [p for p in peers if p.labels is None]
    mesh = next((p for p in wide if p.namespace == operator_namespace), None)
    mesh_mode: Mode = (mesh.mode if mesh is not None else None) or "PERMISSIVE"
    namespaces = set(meshed_namespaces) | {p.namespace for p in peers if p.labels is not None}
    namespaces |= {p.namespace for p in wide if p.namespace != operator_namespace}
    out: list[NetworkPolicyBody] = []
    for ns in sorted(namespaces):
        own = next((p for p in wide if p.namespace == ns), None)
        ns_mode: Mode = (own.mode if own is not None else None) or mesh_mode
        source = own if own is not None and own.mode is not None else mesh
        workloads = [p for p in peers if p.namespace == ns and p.labels is not None]
        if ns_mode == "STRICT":
            assert source is not None  # STRICT never comes from the default
            exceptions = [dict(p.labels or ()) for p in workloads if p.mode not in (None, "STRICT")]
            out += _namespace_policies(ns, source, exceptions)
        # Explicitly STRICT workloads get their own policy even inside a STRICT namespace, so
        # a PERMISSIVE policy that selects some of the same Pods cannot exclude them.
        for p in workloads:
            if p.mode == "STRICT":
                labels = {INJECTED_LABEL: "true", **dict(p.labels or ())}
                name = _name(f"{NAME_PREFIX}workload-{p.name}")
                out.append(_policy(ns, name, labels, [], p))
    return sorted(out, key=lambda b: (b["metadata"]["namespace"], b["metadata"]["name"]))


def _namespace_policies(
    namespace: str, source: _Peer, exceptions: list[dict[str, str]]
) -> list[NetworkPolicyBody]:
    terms = _exclusions(exceptions)
    if terms is None:
        return []
    base = f"{NAME_PREFIX}namespace"
    return [
        _policy(
            namespace, base if i == 0 else f"{base}-{i}", {INJECTED_LABEL: "true"}, term, source
        )
        for i, term in enumerate(terms)
    ]


def _exclusions(exceptions: list[dict[str, str]]) -> list[list[LabelRequirement]] | None:
    """Selectors whose union is "none of the exceptions": one NotIn per exception, multiplied
    out. None when there are more combinations than MAX_SPLIT."""
    if not exceptions:
        return [[]]
    choices = [sorted(e.items()) for e in exceptions]
    size = 1
    for c in choices:
        size *= len(c)
    if size > MAX_SPLIT:
        return None
    terms: list[list[LabelRequirement]] = []
    seen: set[tuple[tuple[str, tuple[str, ...]], ...]] = set()
    for combo in itertools.product(*choices):
        merged: dict[str, set[str]] = {}
        for key, value in combo:
            merged.setdefault(key, set()).add(value)
        canonical = tuple((k, tuple(sorted(v))) for k, v in sorted(merged.items()))
        if canonical in seen:
            continue
        seen.add(canonical)
        terms.append([{"key": k, "operator": "NotIn", "values": list(vs)} for k, vs in canonical])
    return terms


def _policy(
    namespace: str,
    name: str,
    match_labels: dict[str, str],
    expressions: list[LabelRequirement],
    source: _Peer,
) -> NetworkPolicyBody:
    selector: PodSelector = {"matchLabels": dict(sorted(match_labels.items()))}
    if expressions:
        selector["matchExpressions"] = expressions
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(LABELS),
            "annotations": {SOURCE_ANNOTATION: f"{source.namespace}/{source.name}"},
        },
        "spec": {
            "podSelector": selector,
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "ports": [
                        {"protocol": "TCP", "port": INBOUND_PORT},
                        {"protocol": "TCP", "port": ADMIN_PORT},
                    ]
                }
            ],
        },
    }


def _peer(body: Mapping[str, Any]) -> _Peer | None:
    meta = body.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return None
    try:
        spec = PeerAuthenticationSpec.model_validate(body.get("spec") or {})
    except ValidationError:
        return None  # the API server's schema refuses these; a stale one changes nothing
    mode = spec.mtls.mode if spec.mtls is not None else "UNSET"
    labels = spec.selector.match_labels if spec.selector is not None else None
    return _Peer(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        created=str(meta.get("creationTimestamp") or ""),
        labels=tuple(sorted(labels.items())) if labels else None,
        mode=None if mode == "UNSET" else mode,
    )


def _name(name: str) -> str:
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: _MAX_NAME - 11].rstrip('-.')}-{digest}"
