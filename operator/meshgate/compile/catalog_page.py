"""A Gateway with `spec.catalog` serves the API catalog page: a direct response on that path.

The page is rendered here, once per compile of that Gateway, from the config just compiled for
it, so the page lists what the gateway enforces; the proxy only replays bytes. It is the first
route of every virtual host (an exact GET match), ahead of any Route's own match of that path.
"""

from __future__ import annotations

import msgspec

from meshgate.api.v1alpha1.gateway import GatewaySpec
from meshgate.catalog import CATALOG_ROUTE, build, render_page
from meshgate.catalog.notes import route_notes
from meshproxy import config as pc

from .index import Index
from .snapshot import Resource

HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
    # The page is self-contained: inline style, no script, nothing fetched.
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
}


def with_catalog(config: pc.ProxyConfig, gw: Resource[GatewaySpec], index: Index) -> pc.ProxyConfig:
    assert gw.spec is not None
    assert gw.spec.catalog is not None
    catalog = build(
        gw.meta.namespace,
        gw.meta.name,
        pc.to_data(config),
        route_notes(index.snapshot.routes),
    )
    route = pc.Route(
        name=CATALOG_ROUTE,
        source=gw.meta.key,
        match=pc.RouteMatch(
            path=pc.PathMatch(type="Exact", value=gw.spec.catalog.path), method="GET"
        ),
        direct_response=pc.DirectResponse(status=200, body=render_page(catalog), headers=HEADERS),
    )
    listeners = []
    for listener in config.listeners:
        if isinstance(listener.passthrough, pc.Passthrough):
            listeners.append(listener)  # never parses HTTP: no page to serve there
            continue
        vhosts = [
            msgspec.structs.replace(vh, routes=[route, *vh.routes]) for vh in listener.virtual_hosts
        ] or [pc.VirtualHost(name="*", domains=["*"], routes=[route])]
        listeners.append(msgspec.structs.replace(listener, virtual_hosts=vhosts))
    return msgspec.structs.replace(config, listeners=listeners)
