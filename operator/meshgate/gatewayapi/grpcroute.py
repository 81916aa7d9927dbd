"""GRPCRoute rules to meshgate Route rules. Pure.

A gRPC call is an HTTP/2 POST to `/<package.Service>/<Method>`, so a GRPCRoute is served by the
same route model as an HTTPRoute, its method match written as a path match:
- `service` and `method` (Exact): the path `/<service>/<method>` exactly;
- `service` alone: the path prefix `/<service>` (whole segments: `/<service>/...` only);
- `method` alone, or either as a `RegularExpression`: the regular expression
  `/<service>/<method>` on the whole path, an absent half being any one segment.
This keeps the Gateway API's precedence: a service and method beat the service alone (an exact
path beats a prefix), a longer service beats a shorter one, then the number of header matches.
Header matches carry over as they are. Filters: RequestHeaderModifier and ResponseHeaderModifier;
RequestMirror and ExtensionRef are refused as UnsupportedValue, never skipped. Backends resolve
as an HTTPRoute's do (`translate`), with ReferenceGrants from GRPCRoutes, and must be a Service
port that says it speaks HTTP/2 (appProtocol `kubernetes.io/h2c` or `grpc`, or a port name
`grpc-*`/`http2-*`/`h2c-*`, as for every meshgate cluster): the proxy picks a cluster's protocol
by its Service port, so a port of HTTP/1.1 would break every call. Such a backend is left out of
its rule with ResolvedRefs=False, reason UnsupportedProtocol, saying what to set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from meshgate.compile.clusters import upstream_protocol
from meshgate.compile.snapshot import Service

from .objects import GRPCRoute, ReferenceGrant
from .translate import Translation, each_rule, finish_rule

_FILTERS = {
    "RequestHeaderModifier": "requestHeaderModifier",
    "ResponseHeaderModifier": "responseHeaderModifier",
}
_RULE_FIELDS = {"name", "matches", "filters", "backendRefs"}
# One path segment: what an absent service or method matches in a regular expression.
_ANY_SEGMENT = "[^/]+"


def method_path(method: Mapping[str, Any]) -> dict[str, str]:
    """The meshgate path match of a GRPCRoute method match (`type`, `service`, `method`)."""
    service, name = method.get("service") or "", method.get("method") or ""
    if method.get("type", "Exact") == "RegularExpression":
        return {
            "type": "RegularExpression",
            "value": f"/(?:{service or _ANY_SEGMENT})/(?:{name or _ANY_SEGMENT})",
        }
    if service and name:
        return {"type": "Exact", "value": f"/{service}/{name}"}
    if service:
        return {"type": "PathPrefix", "value": f"/{service}"}
    return {"type": "RegularExpression", "value": f"/{_ANY_SEGMENT}/{re.escape(name)}"}


def _match(match: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if match.get("method"):
        out["path"] = method_path(match["method"])
    if match.get("headers"):
        out["headers"] = [dict(h) for h in match["headers"]]
    return out


def translate_grpc(
    route: GRPCRoute,
    grants: tuple[ReferenceGrant, ...],
    services: Mapping[tuple[str, str], Service],
) -> Translation:
    out = Translation()
    for where, rule, body in each_rule(route, _RULE_FIELDS, out):
        if rule.get("matches"):
            body["matches"] = [_match(m) for m in rule["matches"]]
        filters = []
        for f in rule.get("filters") or []:
            kind = str(f.get("type", ""))
            if kind in _FILTERS:
                key = _FILTERS[kind]
                filters.append({"type": kind, key: f.get(key) or {}})
            else:
                out.unsupported.append(
                    f"{where}: filter type {kind} is not supported on GRPCRoutes"
                )
        if filters:
            body["filters"] = filters
        finish_rule(
            route, rule, where, body, grants, services, out,
            keep=lambda backend: _speaks_http2(backend, services, out),
        )  # fmt: skip
    return out


def _speaks_http2(
    backend: Mapping[str, Any], services: Mapping[tuple[str, str], Service], out: Translation
) -> bool:
    ns, name, number = backend["namespace"], backend["name"], backend["port"]
    port = next(p for p in services[(ns, name)].ports if p.port == number)
    if upstream_protocol(port) == "HTTP2":
        return True
    out.unresolved.append(
        (
            "UnsupportedProtocol",
            f'service "{name}" in "{ns}" port {number} does not say it speaks HTTP/2, which gRPC '
            "needs: set its appProtocol to kubernetes.io/h2c (or grpc), or name it grpc-*",
        )
    )
    return False
