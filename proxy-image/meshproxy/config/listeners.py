"""Listeners: where a proxy accepts connections, its server TLS and a sidecar's inbound side."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .base import Model, NonNegative, Port, Seconds
from .passthrough import Passthrough
from .policy import PeerAuthn
from .routes import VirtualHost

# Ports the sidecar keeps for itself; inbound traffic is never forwarded to them.
RESERVED_PORTS = frozenset({15001, 15006, 15090})


def _alpn() -> list[str]:
    return ["h2", "http/1.1"]


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
    alpn: list[str] = msgspec.field(default_factory=_alpn)
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


class ConnectionLimits(Model, frozen=True):
    """What one client may cost this listener: how long it may take and how much it may hold.

    Timeouts of 0 are off. `headerTimeout` and `idleTimeout` unset take the proxy-wide `limits`
    values; the rest have their own defaults here. Caps of 0 are off; `maxConnectionsPerClient`
    unset is 1024 on an edge listener (one address should not hold a gateway) and off elsewhere
    (a sidecar's clients are its own app and other proxies).
    """

    header_timeout: Seconds | None = None  # first byte of a request to its last header
    idle_timeout: Seconds | None = None  # keep-alive connection with no request
    body_timeout: Seconds = 15.0  # longest gap in a request body still arriving
    request_timeout: Seconds = 60.0  # the whole request (head and body) received within this
    send_timeout: Seconds = 30.0  # longest a response may sit unsent to a client not reading
    write_buffer_bytes: Annotated[int, msgspec.Meta(ge=4096)] = 64 * 1024  # high-water mark
    # Past the high-water mark a response is still read from its upstream into the client's
    # buffer for up to this many bytes more, so an answer that fits is read whole and its upstream
    # connection goes back to the pool while a slow client takes it; past it the upstream is
    # paused. Counted against the memory ceiling. 0: pause at the high-water mark.
    response_buffer_bytes: Annotated[int, msgspec.Meta(ge=0, le=64 * 1024 * 1024)] = 256 * 1024
    # A request whose body is at most this long (declared, or chunked so far) waits for all of
    # it before an upstream is picked: a slow body holds a client connection, never an upstream.
    body_prebuffer_bytes: Annotated[int, msgspec.Meta(ge=0, le=256 * 1024)] = 64 * 1024
    max_connections: NonNegative = 10_000
    max_connections_per_client: NonNegative | None = None  # open connections from one address
    max_pending_requests: NonNegative = 4096  # requests in progress on this listener


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
    # Unset (and so absent from the JSON) means every default of `ConnectionLimits`.
    connection_limits: ConnectionLimits | msgspec.UnsetType = msgspec.UNSET
    # Set: a TCP or TLS passthrough listener, which never parses HTTP (`passthrough.py`).
    passthrough: Passthrough | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if isinstance(self.passthrough, Passthrough):
            http_only = [
                field
                for field, value in (
                    ("tls", self.tls),
                    ("virtualHosts", self.virtual_hosts),
                    ("inbound", self.inbound),
                    ("authn", self.authn),
                    ("authz", self.authz),
                    ("rateLimits", self.rate_limits),
                )
                if value
            ]
            if self.role != "edge" or http_only:
                raise ValueError(
                    f"listener {self.name!r}: a passthrough listener is role edge, without "
                    f"{', '.join(http_only) or 'HTTP fields'}"
                )
        if self.role == "inbound" and self.inbound is None:
            raise ValueError(f"listener {self.name!r}: role inbound needs `inbound`")
        if self.role != "inbound" and self.inbound is not None:
            raise ValueError(f"listener {self.name!r}: `inbound` is only for role inbound")
