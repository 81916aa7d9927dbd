"""Where a CONNECT tunnel from a sidecar's app may go: `host:port` to the cluster that is that
destination, decided once per config.

A sidecar reaches only what its config names (an unknown host is a 404 for plain requests, and
the same for CONNECT). Its outbound virtual hosts are the mesh destinations, one per Service
port, named by every form the app may use (`name`, `name.ns`, ..., the ClusterIP), with the
port. A tunnel carries bytes the proxy cannot read, so HTTP routes cannot apply to it: it goes
to the Service port's own cluster, which the operator names as the virtual host
(`<ns>/<svc>:<port>`). A virtual host without a cluster of its name (its routes send elsewhere)
tunnels to the first cluster its first forwarding route names. A domain listed by two virtual
hosts belongs to the first, as for routing. Bare domains (no port) are left out: a CONNECT
target always has one.

This module must never do I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from meshproxy import config


def tunnel_destinations(
    virtual_hosts: Iterable[config.VirtualHost], clusters: Iterable[str]
) -> dict[str, str]:
    """Lower-cased `host:port` -> cluster name."""
    known = set(clusters)
    found: dict[str, str] = {}
    for vhost in virtual_hosts:
        cluster = vhost.name if vhost.name in known else _first_forward(vhost)
        if cluster is None:
            continue  # redirects and direct responses only: nothing to tunnel to
        for domain in vhost.domains:
            domain = domain.lower()
            if _has_port(domain):
                found.setdefault(domain, cluster)
    return found


def _first_forward(vhost: config.VirtualHost) -> str | None:
    for route in vhost.routes:
        if route.forward is not None:
            return route.forward.clusters[0].cluster
    return None


def _has_port(domain: str) -> bool:
    if domain.startswith("*"):
        return False
    _, sep, port = domain.rpartition(":")
    return bool(sep) and port.isdigit() and not domain.endswith("]")
