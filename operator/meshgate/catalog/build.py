"""Build the catalog from a gateway's compiled config (its wire JSON) and its Routes' notes.

Each Route (a route's `source`) becomes one API; what applies to a request is read from the
same fields the proxy enforces: a route's own `authn`/`rateLimits`, else its listener's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from .model import Api, Auth, Catalog, Endpoint, Limit, OpenApi, Operation

DESCRIPTION_ANNOTATION = "meshgate.io/description"
OPENAPI_ANNOTATION = "meshgate.io/openapi"
# The name of the route the catalog page itself is served on; left out of the catalog.
CATALOG_ROUTE = "meshgate-catalog"

_VERSION = re.compile(r"^v\d+(?:(?:alpha|beta)\d*)?$")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_KEYS = {
    "ClientIP": "client IP",
    "ApiKeyConsumer": "API key consumer",
    "Header": "header",
    "JwtClaim": "JWT claim",
}


@dataclass(frozen=True)
class RouteNotes:
    """What a Route says about its API: its annotations `meshgate.io/description` and
    `meshgate.io/openapi` (an OpenAPI 3 document, JSON or YAML)."""

    description: str = ""
    openapi: str = ""


def build(
    namespace: str,
    gateway: str,
    config: Mapping[str, Any],
    notes: Mapping[str, RouteNotes],
) -> Catalog:
    authn = {a["name"]: a for a in config.get("authn") or []}
    limits = {r["name"]: r for r in config.get("rateLimits") or []}
    found: dict[str, dict[str, Any]] = {}
    for listener in config.get("listeners") or []:
        if listener.get("role") != "edge":
            continue
        scheme = "https" if listener.get("tls") else "http"
        for vhost in listener.get("virtualHosts") or []:
            for route in vhost.get("routes") or []:
                source = str(route.get("source") or "")
                if not source or route.get("name") == CATALOG_ROUTE:
                    continue
                entry = found.setdefault(
                    source, {"urls": [], "endpoints": [], "auth": [], "limits": []}
                )
                for domain in vhost.get("domains") or []:
                    if domain == "*" or ":" in domain:
                        continue
                    _add(entry["urls"], _url(scheme, domain, int(listener.get("port") or 0)))
                _add(entry["endpoints"], _endpoint(route))
                for name in route.get("authn") or listener.get("authn") or []:
                    for auth in _auths(authn.get(name)):
                        _add(entry["auth"], auth)
                for name in route.get("rateLimits") or listener.get("rateLimits") or []:
                    if name in limits:
                        _add(entry["limits"], _limit(limits[name]))
    apis = []
    for source, entry in sorted(found.items()):
        ns, _, name = source.partition("/")
        note = notes.get(source, RouteNotes())
        openapi = parse_openapi(note.openapi) if note.openapi else None
        endpoints = tuple(entry["endpoints"])
        apis.append(
            Api(
                namespace=ns,
                name=name,
                description=note.description or (openapi.description if openapi else ""),
                base_urls=tuple(entry["urls"]),
                versions=_versions(endpoints),
                endpoints=endpoints,
                auth=tuple(entry["auth"]),
                limits=tuple(entry["limits"]),
                openapi=openapi,
            )
        )
    return Catalog(gateway_namespace=namespace, gateway=gateway, apis=tuple(apis))


def _add(items: list[Any], item: Any) -> None:
    if item not in items:
        items.append(item)


def _url(scheme: str, host: str, port: int) -> str:
    default = (scheme == "http" and port == 80) or (scheme == "https" and port == 443)
    return f"{scheme}://{host}" + ("" if default or not port else f":{port}")


def _endpoint(route: Mapping[str, Any]) -> Endpoint:
    match = route.get("match") or {}
    path = match.get("path") or {"type": "PathPrefix", "value": "/"}
    kind = {"Exact": "exact", "RegularExpression": "regex"}.get(str(path.get("type")), "prefix")
    method = match.get("method")
    rule = str(route.get("name") or "").split("/")[-2:-1]
    return Endpoint(
        methods=(str(method),) if method else ("ANY",),
        path=str(path.get("value") or "/"),
        match=kind,
        rule=rule[0] if rule else "",
    )


def _auths(policy: Mapping[str, Any] | None) -> list[Auth]:
    if not policy:
        return []
    out = []
    key = policy.get("apiKey")
    if key:
        where = [f"header {key['header']}"] if key.get("header") else []
        where += [f"query parameter {key['query']}"] if key.get("query") else []
        out.append(Auth("API key", " or ".join(where) or "header x-api-key"))
    for provider in (policy.get("jwt") or {}).get("providers") or []:
        detail = f"issuer {provider.get('issuer')}"
        if provider.get("audiences"):
            detail += f", audience {', '.join(provider['audiences'])}"
        out.append(Auth("JWT", detail))
    return out


def _limit(rule: Mapping[str, Any]) -> Limit:
    seconds = float(rule.get("perSeconds") or 1)
    per = {1.0: "second", 60.0: "minute", 3600.0: "hour"}.get(seconds, f"{seconds:g} seconds")
    key = rule.get("key") or {}
    what = _KEYS.get(str(key.get("type") or "ClientIP"), "client IP")
    if key.get("name"):
        what += f" {key['name']}"
    # A limit split across replicas is enforced per proxy as requests/divisor: the page shows
    # the whole gateway's limit, which is what a client sees.
    burst = rule.get("burst")
    return Limit(requests=int(rule.get("requests") or 0), per=per, key=what, burst=burst)


def _versions(endpoints: Sequence[Endpoint]) -> tuple[str, ...]:
    found: list[str] = []
    for ep in endpoints:
        for segment in ep.path.split("/"):
            if _VERSION.match(segment) and segment not in found:
                found.append(segment)
    return tuple(found)


def parse_openapi(text: str) -> OpenApi:
    """An OpenAPI 3 (or Swagger 2) document's title, version and operations; never raises."""
    try:
        doc = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        return OpenApi("", "", "", (), problem=f"not JSON or YAML: {str(exc).splitlines()[0]}")
    if not isinstance(doc, dict) or not isinstance(doc.get("paths", {}), dict):
        return OpenApi("", "", "", (), problem="not an OpenAPI document (no paths object)")
    info: dict[str, Any] = doc["info"] if isinstance(doc.get("info"), dict) else {}
    operations = []
    for path, item in sorted((doc.get("paths") or {}).items()):
        if not isinstance(item, dict):
            continue
        for method in _METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                tags = op.get("tags") or []
                operations.append(
                    Operation(
                        method=method.upper(),
                        path=str(path),
                        summary=str(op.get("summary") or op.get("operationId") or ""),
                        tag=str(tags[0]) if tags else "",
                    )
                )
    return OpenApi(
        title=str(info.get("title") or ""),
        version=str(info.get("version") or ""),
        description=str(info.get("description") or ""),
        operations=tuple(operations),
    )
