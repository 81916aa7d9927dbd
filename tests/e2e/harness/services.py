"""Which Service address and port lead to which Pod endpoints, as an nftables ruleset.

The agent plays kube-proxy too (`kubeproxy.py`): a connection to a Service's ClusterIP (or
load-balancer IP) and port is DNATed to one ready endpoint's address and target port, chosen at
random per connection, in the `output` hook (the tests and every local Pod connect from this
namespace) and the `prerouting` hook (sandboxed Pods, see `sandbox.py`). A Service without a
ready endpoint gets no rule: its address is local, nothing listens there, and the connection is
refused, as kube-proxy rejects it.

Only addresses inside 198.18.0.0/15 are ever forwarded: the test namespaces may route nothing
else (a ClusterIP of 10.0.0.0/8 is a real network's address and is never dialled).

Pure: this module must never run nft or read the API server.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Body = dict[str, Any]
FORWARDABLE = ipaddress.IPv4Network("198.18.0.0/15")
TABLE = "meshgate_services"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True, order=True)
class Forward:
    """Connections to `address:port` go to one of `endpoints` (address, port)."""

    address: str
    port: int
    endpoints: tuple[tuple[str, int], ...]


def forwardable(address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in FORWARDABLE
    except ValueError:
        return False


def _service_addresses(service: Body) -> list[str]:
    spec = service.get("spec") or {}
    addresses = list(spec.get("clusterIPs") or [spec.get("clusterIP") or ""])
    for ingress in ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        addresses.append(ingress.get("ip") or "")
    return sorted({a for a in addresses if forwardable(a)})


def _ready_endpoints(slices: Iterable[Body], port_name: str) -> list[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    for eps in slices:
        if eps.get("addressType") != "IPv4":
            continue
        ports = [
            p
            for p in eps.get("ports") or []
            if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == "TCP"
        ]
        for endpoint in eps.get("endpoints") or []:
            conditions = endpoint.get("conditions") or {}
            # `ready` unset means ready (the API's rule); a terminating endpoint takes no new ones.
            if conditions.get("ready") is False or conditions.get("terminating") is True:
                continue
            for port in ports:
                if port.get("port") is None:
                    continue
                for address in (endpoint.get("addresses") or [])[:1]:
                    found.add((address, int(port["port"])))
    return sorted(found)


def forwards(services: Iterable[Body], slices: Iterable[Body]) -> list[Forward]:
    """Every (Service address, TCP port) with ready endpoints, in a stable order."""
    by_service: dict[tuple[str, str], list[Body]] = {}
    for eps in slices:
        meta = eps.get("metadata") or {}
        owner = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if owner:
            by_service.setdefault((meta.get("namespace", ""), owner), []).append(eps)
    result: list[Forward] = []
    for service in services:
        meta = service.get("metadata") or {}
        own = by_service.get((meta.get("namespace", ""), meta.get("name", "")), [])
        addresses = _service_addresses(service)
        if not addresses or not own:
            continue
        for port in (service.get("spec") or {}).get("ports") or []:
            if (port.get("protocol") or "TCP") != "TCP":
                continue
            endpoints = _ready_endpoints(own, port.get("name") or "")
            if endpoints:
                for address in addresses:
                    result.append(Forward(address, int(port["port"]), tuple(endpoints)))
    return sorted(result)


def _rule(forward: Forward) -> str:
    match = f"ip daddr {forward.address} tcp dport {forward.port}"
    if len(forward.endpoints) == 1:
        address, port = forward.endpoints[0]
        return f"{match} dnat to {address}:{port}"
    choices = ", ".join(f"{i} : {a} . {p}" for i, (a, p) in enumerate(forward.endpoints))
    return f"{match} dnat to numgen random mod {len(forward.endpoints)} map {{ {choices} }}"


def ruleset(forwards: Iterable[Forward], table: str = TABLE) -> str:
    """An `nft -f` script that replaces the agent's table in one transaction."""
    rules = "".join(f"    {_rule(f)}\n" for f in forwards)
    return (
        f"add table ip {table}\n"
        f"delete table ip {table}\n"
        f"table ip {table} {{\n"
        "  chain services {\n"
        f"{rules}"
        "  }\n"
        "  chain output {\n"
        "    type nat hook output priority -100; policy accept;\n"
        "    jump services\n"
        "  }\n"
        "  chain prerouting {\n"
        "    type nat hook prerouting priority -100; policy accept;\n"
        "    jump services\n"
        "  }\n"
        "}\n"
    )


def removal(table: str = TABLE) -> str:
    """An `nft -f` script that removes the agent's table, whether or not it exists."""
    return f"add table ip {table}\ndelete table ip {table}\n"
