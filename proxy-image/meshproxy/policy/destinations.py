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


def pod_destinations(clusters: Iterable[config.Cluster]) -> dict[str, tuple[str, int]]:
    """Lower-cased `address:port` of every endpoint the config names (bare `address` too when
    the port is 80) -> (cluster name, index of the endpoint in it).

    A request addressed to a Pod IP passes the sidecar without routes, to that Pod: the mesh
    profile of the Gateway API asks for it, and a sidecar learns Pods only as endpoints. An
    endpoint of a mesh cluster is reached through its sidecar (mTLS), so a Pod behind a meshed
    Service and also behind a plain one is looked up in the mesh cluster first.
    """
    found: dict[str, tuple[str, int]] = {}
    meshed_first = sorted(clusters, key=lambda c: c.tls.mode != "MESH")  # stable: config order
    for cluster in meshed_first:
        for index, endpoint in enumerate(cluster.endpoints):
            address = endpoint.address.lower()
            host = f"[{address}]" if ":" in address else address
            found.setdefault(f"{host}:{endpoint.port}", (cluster.name, index))
            if endpoint.port == 80:
                found.setdefault(host, (cluster.name, index))
    return found
