"""Sections of a proxy's `/config` (already redacted by the proxy) as rows for `proxy-config`.

Pure: the JSON document in, rows out. Mirrors what `istioctl proxy-config` shows per section:
listeners, routes, clusters, endpoints and secrets (which files hold which key material; never
the material).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .output import Column

SECTIONS = ("listeners", "routes", "clusters", "endpoints", "secrets")

COLUMNS: Mapping[str, tuple[Column, ...]] = {
    "listeners": (
        Column("NAME", "name"),
        Column("ADDRESS", "address"),
        Column("PORT", "port"),
        Column("ROLE", "role"),
        Column("TLS", "tls"),
        Column("VIRTUAL HOSTS", "virtualHosts"),
        Column("POLICIES", "policies"),
    ),
    "routes": (
        Column("LISTENER", "listener"),
        Column("DOMAINS", "domains"),
        Column("ROUTE", "route"),
        Column("MATCH", "match"),
        Column("ACTION", "action"),
        Column("SOURCE", "source"),
    ),
    "clusters": (
        Column("NAME", "name"),
        Column("ENDPOINTS", "endpoints"),
        Column("LB", "loadBalancer"),
        Column("TLS", "tls"),
        Column("OUTLIER", "outlierDetection"),
    ),
    "endpoints": (
        Column("CLUSTER", "cluster"),
        Column("ADDRESS", "address"),
        Column("PORT", "port"),
        Column("WEIGHT", "weight"),
        Column("LABELS", "labels"),
    ),
    "secrets": (
        Column("USED BY", "usedBy"),
        Column("KIND", "kind"),
        Column("SOURCE", "source"),
    ),
}


def rows(config: Mapping[str, Any], section: str) -> list[dict[str, Any]]:
    return {
        "listeners": _listeners,
        "routes": _routes,
        "clusters": _clusters,
        "endpoints": _endpoints,
        "secrets": _secrets,
    }[section](config)


def _listeners(cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for lst in cfg.get("listeners") or []:
        policies = [
            *(f"authn:{n}" for n in lst.get("authn") or []),
            *(f"authz:{n}" for n in lst.get("authz") or []),
            *(f"ratelimit:{n}" for n in lst.get("rateLimits") or []),
        ]
        tls = lst.get("tls")
        out.append(
            {
                "name": lst.get("name"),
                "address": lst.get("address"),
                "port": lst.get("port"),
                "role": lst.get("role"),
                "tls": ("mutual" if tls.get("requireClientCert") else "server") if tls else "",
                "virtualHosts": len(lst.get("virtualHosts") or []),
                "policies": policies,
            }
        )
    return out


def _match(match: Mapping[str, Any]) -> str:
    path = match.get("path") or {"type": "PathPrefix", "value": "/"}
    parts = [f"{match.get('method') or '*'} {path.get('value')}"]
    if path.get("type") == "Exact":
        parts[0] += " (exact)"
    elif path.get("type") == "RegularExpression":
        parts[0] += " (regex)"
    parts += [f"header {h.get('name')}" for h in match.get("headers") or []]
    parts += [f"query {q.get('name')}" for q in match.get("queryParams") or []]
    return ", ".join(parts)


def _action(route: Mapping[str, Any]) -> str:
    if route.get("forward"):
        clusters = route["forward"].get("clusters") or []
        if len(clusters) == 1:
            return f"→ {clusters[0].get('cluster')}"
        return "→ " + ", ".join(f"{c.get('cluster')} ({c.get('weight', 1)})" for c in clusters)
    if route.get("redirect"):
        return f"redirect {route['redirect'].get('statusCode', 302)}"
    if route.get("directResponse"):
        return f"respond {route['directResponse'].get('status')}"
    return "-"


def _routes(cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for lst in cfg.get("listeners") or []:
        for vh in lst.get("virtualHosts") or []:
            for route in vh.get("routes") or []:
                out.append(
                    {
                        "listener": lst.get("name"),
                        "domains": vh.get("domains") or [],
                        "route": route.get("name"),
                        "match": _match(route.get("match") or {}),
                        "action": _action(route),
                        "source": route.get("source") or "",
                    }
                )
    return out


def _clusters(cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for c in cfg.get("clusters") or []:
        od = c.get("outlierDetection")
        out.append(
            {
                "name": c.get("name"),
                "endpoints": len(c.get("endpoints") or []),
                "loadBalancer": (c.get("loadBalancer") or {}).get("policy", "ROUND_ROBIN"),
                "tls": (c.get("tls") or {}).get("mode", "DISABLE"),
                "outlierDetection": f"{od.get('consecutiveGatewayErrors', 0)} errors" if od else "",
            }
        )
    return out


def _endpoints(cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "cluster": c.get("name"),
            "address": ep.get("address"),
            "port": ep.get("port"),
            "weight": ep.get("weight", 1),
            "labels": [f"{k}={v}" for k, v in sorted((ep.get("labels") or {}).items())],
        }
        for c in cfg.get("clusters") or []
        for ep in c.get("endpoints") or []
    ]


def _secrets(cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    ident = cfg.get("identity")
    if ident:
        out.append(
            {"usedBy": "workload identity", "kind": "certificate", "source": ident.get("certFile")}
        )
        out.append(
            {"usedBy": "workload identity", "kind": "trust bundle", "source": ident.get("caFile")}
        )
    for lst in cfg.get("listeners") or []:
        tls = lst.get("tls")
        if tls:
            out.append(
                {
                    "usedBy": f"listener {lst.get('name')}",
                    "kind": "certificate",
                    "source": tls.get("certFile"),
                }
            )
    for c in cfg.get("clusters") or []:
        tls = c.get("tls") or {}
        if tls.get("caFile"):
            out.append(
                {
                    "usedBy": f"cluster {c.get('name')}",
                    "kind": "trust bundle",
                    "source": tls.get("caFile"),
                }
            )
    for policy in cfg.get("authn") or []:
        api_key = policy.get("apiKey")
        if api_key:
            source = (
                api_key.get("keysFile")
                or f"{len(api_key.get('keys') or [])} inline digests (redacted)"
            )
            out.append(
                {"usedBy": f"authn {policy.get('name')}", "kind": "API keys", "source": source}
            )
        for p in (policy.get("jwt") or {}).get("providers") or []:
            source = (
                p.get("jwksFile") or p.get("jwksUri") or ("inline JWKS" if p.get("jwks") else "")
            )
            out.append(
                {
                    "usedBy": f"authn {policy.get('name')} ({p.get('issuer')})",
                    "kind": "JWKS",
                    "source": source,
                }
            )
    for rl in cfg.get("rateLimits") or []:
        if rl.get("redisUrlFile") or rl.get("redisUrl"):
            source = rl.get("redisUrlFile") or rl.get("redisUrl")
            out.append(
                {"usedBy": f"rate limit {rl.get('name')}", "kind": "Redis URL", "source": source}
            )
    return out
