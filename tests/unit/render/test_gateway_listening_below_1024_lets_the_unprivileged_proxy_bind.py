"""A gateway listening on 80 or 443 (usual for Gateway API Gateways) runs its unprivileged proxy
in a Pod whose network namespace allows binding those ports; others get no sysctl."""

from __future__ import annotations

import dataclasses

from golden_cases import documents, snapshot

from meshgate.compile import compile_snapshot
from meshgate.render import render_gateway
from meshgate.settings import Settings

SYSCTL = {"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}


def _pod_security(ports: tuple[tuple[str, int], ...]) -> dict[str, object]:
    (gw,) = compile_snapshot(snapshot(documents("gateway-basic-http"))).gateways
    objects = render_gateway(dataclasses.replace(gw, ports=ports), Settings())
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    security: dict[str, object] = deployment["spec"]["template"]["spec"]["securityContext"]
    return security


def test_port_80_gets_the_sysctl() -> None:
    assert _pod_security((("http", 80), ("https", 8443)))["sysctls"] == [SYSCTL]


def test_unprivileged_ports_get_none() -> None:
    assert "sysctls" not in _pod_security((("http", 8080),))
