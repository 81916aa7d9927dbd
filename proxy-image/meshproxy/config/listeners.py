"""Listeners: where a proxy accepts connections, its server TLS and a sidecar's inbound side."""

from __future__ import annotations

from typing import Literal

import msgspec

from .base import Model, Port
from .policy import PeerAuthn
from .routes import VirtualHost

# Ports the sidecar keeps for itself; inbound traffic is never forwarded to them.
RESERVED_PORTS = frozenset({15001, 15006, 15090})


def _http11() -> list[str]:
    return ["http/1.1"]


class SniCertificate(Model, frozen=True):
    """A certificate served to clients whose SNI names one of `hostnames` (`*.x` covers one
    label); other handshakes get the listener's own certificate."""

    hostnames: list[str]
    cert_file: str
    key_file: str


class ServerTLS(Model, frozen=True):
    cert_file: str
    key_file: str
    client_ca_file: str | None = None
    require_client_cert: bool = False
    alpn: list[str] = msgspec.field(default_factory=_http11)
    sni_certificates: list[SniCertificate] = msgspec.field(default_factory=list)


class Inbound(Model, frozen=True):
    """A sidecar's inbound side: verify the peer, authorize, then forward to the local app."""

    forward_address: str = "127.0.0.1"
    allowed_ports: list[Port] = msgspec.field(default_factory=list)
    peer_authn: list[PeerAuthn] = msgspec.field(default_factory=list)  # most specific wins

    def __post_init__(self) -> None:
        bad = sorted(set(self.allowed_ports) & RESERVED_PORTS)
        if bad:
            raise ValueError(f"inbound.allowedPorts: {bad} are the proxy's own ports")


class Listener(Model, frozen=True):
    name: str
    port: Port
    role: Literal["edge", "outbound", "inbound"]
    address: str = "0.0.0.0"  # noqa: S104 - a gateway listens on every interface by design
    tls: ServerTLS | None = None
    virtual_hosts: list[VirtualHost] = msgspec.field(default_factory=list)
    inbound: Inbound | None = None
    authn: list[str] = msgspec.field(default_factory=list)
    authz: list[str] = msgspec.field(default_factory=list)
    rate_limits: list[str] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.role == "inbound" and self.inbound is None:
            raise ValueError(f"listener {self.name!r}: role inbound needs `inbound`")
        if self.role != "inbound" and self.inbound is not None:
            raise ValueError(f"listener {self.name!r}: `inbound` is only for role inbound")
