"""HTTPRoute rules to meshgate Route rules, resolving every backendRef on the way. Pure.

The two shapes are close on purpose (meshgate's Route follows HTTPRoute): matches, header
modifiers, redirects, URL rewrites, mirrors, CORS and timeouts carry over field for field. What
differs is decided here:
- a backendRef must be a core Service (else InvalidKind), in the route's namespace or allowed by
  a ReferenceGrant (else RefNotPermitted), and exist with that port (else BackendNotFound); an
  unresolved backend is left out of the rule, and a rule left with no backend answers 500;
- a backendRef's own filters carry over when they are header modifiers, applied only when that
  backend is picked; two backendRefs naming one Service port, one of them with filters, are
  refused by the Route's own validation (the proxy keys a backend's filters by its cluster);
- anything meshgate cannot do (ExtensionRef filters, other filter types on a single backendRef,
  fields of the experimental channel) is refused as UnsupportedValue rather than half-applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Set
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from meshgate.api.v1alpha1.route import BACKEND_FILTER_FIELDS, RouteRule
from meshgate.compile.ingest import explain
from meshgate.compile.snapshot import Service

from .grants import permitted
from .objects import GROUP, HTTPRoute, ReferenceGrant

# Filters whose settings meshgate's Route takes as they are.
_SAME_SHAPE = {
    "RequestHeaderModifier": "requestHeaderModifier",
    "ResponseHeaderModifier": "responseHeaderModifier",
    "RequestRedirect": "requestRedirect",
    "URLRewrite": "urlRewrite",
    "CORS": "cors",
}
_RULE_FIELDS = {"name", "matches", "filters", "backendRefs", "timeouts"}


@dataclass
class Translation:
    """The meshgate rules of one HTTPRoute and what stood in the way."""

    rules: list[RouteRule] = field(default_factory=list)
    # ResolvedRefs=False reasons, in the order found: (reason, message)
    unresolved: list[tuple[str, str]] = field(default_factory=list)
    # Accepted=False, reason UnsupportedValue: messages
    unsupported: list[str] = field(default_factory=list)


def translate(
    route: HTTPRoute,
    grants: tuple[ReferenceGrant, ...],
    services: Mapping[tuple[str, str], Service],
) -> Translation:
    out = Translation()
    for where, rule, body in each_rule(route, _RULE_FIELDS, out):
        if rule.get("matches"):
            body["matches"] = [dict(m) for m in rule["matches"]]
        if rule.get("timeouts"):
            body["timeouts"] = dict(rule["timeouts"])
        filters = []
        for f in rule.get("filters") or []:
            kind = str(f.get("type", ""))
            if kind in _SAME_SHAPE:
                key = _SAME_SHAPE[kind]
                filters.append({"type": kind, key: f.get(key) or {}})
            elif kind == "RequestMirror":
                mirror = _mirror(route, f.get("requestMirror") or {}, grants, services, out)
                if mirror is not None:
                    filters.append({"type": kind, "requestMirror": mirror})
            else:
                out.unsupported.append(f"{where}: filter type {kind} is not supported")
        if filters:
            body["filters"] = filters
        finish_rule(route, rule, where, body, grants, services, out)
    return out


def each_rule(
    route: HTTPRoute, allowed: Set[str], out: Translation
) -> Iterator[tuple[str, Mapping[str, Any], dict[str, Any]]]:
    """Each rule of a route of this module's kinds (HTTPRoute, GRPCRoute) with only fields
    meshgate serves: where it is (for messages), the rule, and its meshgate body begun. A rule
    with other fields is refused as UnsupportedValue, never half-applied."""
    for i, rule in enumerate(route.rules):
        where = f"rule {rule.get('name') or i}"
        extra = sorted(set(rule) - allowed)
        if extra:
            out.unsupported.append(f"{where}: {', '.join(extra)} is not supported")
            continue
        yield where, rule, ({"name": rule["name"]} if rule.get("name") else {})


def finish_rule(
    route: HTTPRoute,
    rule: Mapping[str, Any],
    where: str,
    body: dict[str, Any],
    grants: tuple[ReferenceGrant, ...],
    services: Mapping[tuple[str, str], Service],
    out: Translation,
    keep: Callable[[Mapping[str, Any]], bool] = lambda _: True,
) -> None:
    """Resolve the rule's backendRefs into `body` (those `keep` accepts; an unresolved one is
    left out, its reason in `out`) and add the meshgate rule, or its refusal, to `out`."""
    refs = []
    for ref in rule.get("backendRefs") or []:
        filters = _backend_filters(ref, where, out)
        resolved = _backend(route, ref, grants, services, out)
        if resolved is not None and keep(resolved):
            refs.append({**resolved, "weight": int(ref.get("weight", 1)), **filters})
    body["backendRefs"] = refs
    try:
        out.rules.append(RouteRule.model_validate(body))
    except ValidationError as exc:
        out.unsupported.append(f"{where}: {explain(exc).replace('spec.', '', 1)}")


def _backend_filters(ref: Mapping[str, Any], where: str, out: Translation) -> dict[str, Any]:
    """A backendRef's filters in meshgate's shape (`{"filters": [...]}`, or nothing): header
    modifiers carry over; any other type is refused, the rule with it, as UnsupportedValue."""
    filters = []
    for f in ref.get("filters") or []:
        kind = str(f.get("type", ""))
        key = BACKEND_FILTER_FIELDS.get(kind)
        if key is None:
            out.unsupported.append(
                f"{where}: backendRef {ref.get('name', '')}: filter type {kind} is not supported"
                f" on a backendRef (only {' and '.join(BACKEND_FILTER_FIELDS)})"
            )
            continue
        filters.append({"type": kind, key: f.get(key) or {}})
    return {"filters": filters} if filters else {}


def _mirror(
    route: HTTPRoute,
    mirror: Mapping[str, Any],
    grants: tuple[ReferenceGrant, ...],
    services: Mapping[tuple[str, str], Service],
    out: Translation,
) -> dict[str, Any] | None:
    target = _backend(route, mirror.get("backendRef") or {}, grants, services, out)
    if target is None:
        return None
    percent = 100
    if mirror.get("percent") is not None:
        percent = int(mirror["percent"])
    elif mirror.get("fraction"):
        fraction = mirror["fraction"]
        numerator, denominator = fraction.get("numerator", 0), fraction.get("denominator") or 100
        percent = round(100 * int(numerator) / int(denominator))
    return {"backendRef": target, "percent": percent}


def _backend(
    route: HTTPRoute,
    ref: Mapping[str, Any],
    grants: tuple[ReferenceGrant, ...],
    services: Mapping[tuple[str, str], Service],
    out: Translation,
) -> dict[str, Any] | None:
    """A resolved backendRef as meshgate's `{name, namespace, port}`, or None (recorded why).
    The ReferenceGrant asked for is one from the route's own kind (HTTPRoute or GRPCRoute)."""
    group, kind = str(ref.get("group", "") or ""), str(ref.get("kind", "Service") or "Service")
    name = str(ref.get("name", ""))
    ns = str(ref.get("namespace") or route.meta.namespace)
    if (group, kind) != ("", "Service"):
        out.unresolved.append(
            ("InvalidKind", f"backendRef {name} is a {kind} ({group or 'core'}), not a Service")
        )
        return None
    if not permitted(
        grants,
        from_group=GROUP, from_kind=route.kind, from_namespace=route.meta.namespace,
        to_group="", to_kind="Service", to_namespace=ns, to_name=name,
    ):  # fmt: skip
        out.unresolved.append(
            (
                "RefNotPermitted",
                f'service "{name}" is in namespace "{ns}" and no ReferenceGrant there allows '
                f'{route.kind}s of namespace "{route.meta.namespace}" to use it',
            )
        )
        return None
    service = services.get((ns, name))
    if service is None:
        out.unresolved.append(("BackendNotFound", f'service "{name}" not found in "{ns}"'))
        return None
    port = ref.get("port")
    if port is None or not any(p.port == int(port) for p in service.ports):
        have = ", ".join(str(p.port) for p in service.ports) or "none"
        out.unresolved.append(
            (
                "BackendNotFound",
                f'service "{name}" in "{ns}" has no port {port} (ports: {have})',
            )
        )
        return None
    return {"name": name, "namespace": ns, "port": int(port)}
