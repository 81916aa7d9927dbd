"""Which meshgate objects apply to one Pod or Service, and what each does to it. Pure.

The rules are the compiler's, in their simplest reading: a Route applies when it serves the
Service's mesh host or sends traffic to it; a DestinationRule when its host is the Service; a
RetryPolicy when it targets the Service or such a Route; a PeerAuthentication or
AuthorizationPolicy when it is in the workload's namespace (or the operator's, mesh-wide) and its
selector, if any, matches the workload's labels. The verdict shown is the object's own status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Body = Mapping[str, Any]


@dataclass(frozen=True)
class Workload:
    """What is described: a Service (its selector) or a Pod (its labels and Services)."""

    kind: str  # "pod" or "service"
    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)  # a Pod's labels, a Service's selector
    services: tuple[str, ...] = ()  # the Services that select the Pod (the Service itself)


@dataclass(frozen=True)
class Applied:
    kind: str
    namespace: str
    name: str
    effect: str
    status: str  # "Accepted" condition: status and reason

    def row(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "name": f"{self.namespace}/{self.name}",
            "effect": self.effect,
            "status": self.status,
        }


def selecting_services(pod_labels: Mapping[str, str], services: Iterable[Body]) -> tuple[str, ...]:
    """The Services whose selector the Pod's labels satisfy (an empty selector selects none)."""
    out = []
    for svc in services:
        selector = (svc.get("spec") or {}).get("selector") or {}
        if selector and all(pod_labels.get(k) == v for k, v in selector.items()):
            out.append(str(svc["metadata"]["name"]))
    return tuple(sorted(out))


def applying(
    target: Workload, bodies: Mapping[str, Sequence[Body]], operator_namespace: str
) -> list[Applied]:
    out: list[Applied] = []
    for route in bodies.get("Route", ()):
        effect = _route_effect(route, target)
        if effect:
            out.append(_applied("Route", route, effect))
    for dr in bodies.get("DestinationRule", ()):
        spec = dr.get("spec") or {}
        if _same_ns(dr, target) and _host_is(str(spec.get("host") or ""), target):
            out.append(_applied("DestinationRule", dr, _dr_effect(spec)))
    route_names = {a.name for a in out if a.kind == "Route"}
    for rp in bodies.get("RetryPolicy", ()):
        spec = rp.get("spec") or {}
        hit = [
            f"{ref.get('kind')} {ref.get('name')}"
            for ref in spec.get("targetRefs") or []
            if _same_ns(rp, target)
            and (
                (ref.get("kind") == "Service" and ref.get("name") in target.services)
                or (ref.get("kind") == "Route" and ref.get("name") in route_names)
            )
        ]
        if hit:
            codes = spec.get("retriableStatusCodes") or []
            on = ", ".join(spec.get("retryOn") or ["default conditions"])
            effect = f"up to {spec.get('attempts', 2)} retries on {on}"
            effect += f" and {codes}" if codes else ""
            out.append(_applied("RetryPolicy", rp, f"{effect} (via {', '.join(hit)})"))
    for pa in bodies.get("PeerAuthentication", ()):
        scope = _policy_scope(pa, target, operator_namespace)
        if scope:
            spec = pa.get("spec") or {}
            mode = (spec.get("mtls") or {}).get("mode", "UNSET")
            ports = spec.get("portLevelMtls") or {}
            effect = f"mTLS {mode} ({scope})" + (
                "; ports " + ", ".join(f"{p} {m.get('mode')}" for p, m in sorted(ports.items()))
                if ports
                else ""
            )
            out.append(_applied("PeerAuthentication", pa, effect))
    for ap in bodies.get("AuthorizationPolicy", ()):
        scope = _policy_scope(ap, target, operator_namespace)
        if scope:
            spec = ap.get("spec") or {}
            action = spec.get("action", "ALLOW")
            rules = spec.get("rules") or []
            effect = (
                f"{action}: {len(rules)} rule(s)"
                if rules
                else (
                    "allows nothing (ALLOW without rules)"
                    if action == "ALLOW"
                    else "DENY everything"
                )
            )
            out.append(_applied("AuthorizationPolicy", ap, f"{effect} ({scope})"))
    return out


def _applied(kind: str, body: Body, effect: str) -> Applied:
    meta = body.get("metadata") or {}
    return Applied(
        kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""), effect, _status(body)
    )


def _status(body: Body) -> str:
    for cond in (body.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Accepted":
            return f"Accepted={cond.get('status')} ({cond.get('reason')})"
    return "no status yet"


def _same_ns(body: Body, target: Workload) -> bool:
    return (body.get("metadata") or {}).get("namespace") == target.namespace


def _host_is(host: str, target: Workload) -> bool:
    """`reviews`, `reviews.shop`, `reviews.shop.svc` or `reviews.shop.svc.<domain>`."""
    parts = host.split(".")
    if not parts or parts[0] not in target.services:
        return False
    return len(parts) == 1 or parts[1] == target.namespace


def _route_effect(route: Body, target: Workload) -> str:
    spec = route.get("spec") or {}
    ns = (route.get("metadata") or {}).get("namespace")
    effects = []
    hosts = [h for h in spec.get("hosts") or [] if ns == target.namespace and _host_is(h, target)]
    if hosts:
        effects.append(
            f"takes over mesh traffic to {', '.join(hosts)} "
            f"({len(spec.get('rules') or [])} rule(s))"
        )
    sends = []
    for i, rule in enumerate(spec.get("rules") or []):
        for ref in rule.get("backendRefs") or []:
            ref_ns = ref.get("namespace") or ns
            if ref_ns == target.namespace and ref.get("name") in target.services:
                label = rule.get("name") or f"rule {i}"
                extra = [f"weight {ref['weight']}" for _ in [0] if "weight" in ref]
                extra += [f"subset {ref['subset']}" for _ in [0] if ref.get("subset")]
                sends.append(label + (f" ({', '.join(extra)})" if extra else ""))
    if sends:
        parents = [p.get("name") for p in spec.get("parentRefs") or []]
        via = f" from gateway {', '.join(str(p) for p in parents)}" if parents else ""
        effects.append(f"sends traffic here{via}: {'; '.join(sends)}")
    return "; ".join(effects)


def _dr_effect(spec: Body) -> str:
    policy = spec.get("trafficPolicy") or {}
    parts = []
    lb = policy.get("loadBalancer") or {}
    if lb:
        parts.append("load balancing " + (lb.get("simple") or "consistent hash"))
    if policy.get("outlierDetection"):
        od = policy["outlierDetection"]
        parts.append(
            f"ejects an endpoint after {od.get('consecutiveGatewayErrors', '?')} gateway errors"
        )
    if policy.get("connectionPool"):
        parts.append("connection limits")
    if policy.get("tls"):
        parts.append(f"TLS {(policy['tls'] or {}).get('mode')}")
    subsets = [s.get("name") for s in spec.get("subsets") or []]
    if subsets:
        parts.append(f"subsets {', '.join(str(s) for s in subsets)}")
    return "; ".join(parts) or "no traffic policy set"


def _policy_scope(body: Body, target: Workload, operator_namespace: str) -> str:
    ns = (body.get("metadata") or {}).get("namespace")
    if ns not in (target.namespace, operator_namespace):
        return ""
    selector = ((body.get("spec") or {}).get("selector") or {}).get("matchLabels")
    if selector:
        if not all(target.labels.get(k) == v for k, v in selector.items()):
            return ""
        return "selects " + ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return "mesh-wide" if ns == operator_namespace and ns != target.namespace else "namespace-wide"
