"""Upstreams: endpoints, load balancing, connection pools, outlier detection and upstream TLS."""

from __future__ import annotations

from typing import Literal

import msgspec

from .base import Model, NonNegative, Percent, Port, Positive, Seconds


class Endpoint(Model, frozen=True):
    address: str
    port: Port
    weight: Positive = 1
    labels: dict[str, str] = msgspec.field(default_factory=dict)


class ConsistentHash(Model, frozen=True):
    header: str | None = None
    cookie: str | None = None
    # A request without the cookie gets one (a random value it is hashed on) in Set-Cookie.
    cookie_path: str | None = None
    cookie_ttl: Seconds = 0.0  # Max-Age; 0: a session cookie
    source_ip: bool = False


class LoadBalancer(Model, frozen=True):
    policy: Literal["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "CONSISTENT_HASH"] = "ROUND_ROBIN"
    consistent_hash: ConsistentHash | None = None


class ConnectionPool(Model, frozen=True):
    max_connections: Positive = 1024
    max_pending_requests: Positive = 1024
    max_requests_per_connection: NonNegative = 0  # 0 = unlimited
    idle_timeout: Seconds = 60.0
    connect_timeout: Seconds = 5.0
    # HTTP/2 upstreams: streams in flight to one endpoint, over all its connections (Istio's
    # `http2MaxRequests`); beyond it requests wait as for a connection (`maxPendingRequests`).
    http2_max_requests: Positive = 1024


class OutlierDetection(Model, frozen=True):
    # camelCase would make it `consecutive5XxErrors`; users write Istio's spelling.
    consecutive_5xx_errors: NonNegative = msgspec.field(default=5, name="consecutive5xxErrors")
    consecutive_gateway_errors: NonNegative = 0
    interval: Seconds = 10.0
    base_ejection_time: Seconds = 30.0
    max_ejection_percent: Percent = 10.0


class UpstreamTLS(Model, frozen=True):
    """`MESH` is mTLS to the peer's inbound port with this proxy's identity."""

    mode: Literal["DISABLE", "SIMPLE", "MUTUAL", "MESH"] = "DISABLE"
    sni: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    # Identities the peer may present (SPIFFE IDs); empty = any identity of the trust domain.
    expected_identities: list[str] = msgspec.field(default_factory=list)


class Cluster(Model, frozen=True):
    name: str
    endpoints: list[Endpoint] = msgspec.field(default_factory=list)
    load_balancer: LoadBalancer = msgspec.field(default_factory=LoadBalancer)
    connection_pool: ConnectionPool = msgspec.field(default_factory=ConnectionPool)
    outlier_detection: OutlierDetection | None = None
    tls: UpstreamTLS = msgspec.field(default_factory=UpstreamTLS)
    mesh_inbound_port: Port = 15006  # where peers' sidecars listen when tls.mode is MESH
    # What the proxy speaks to the endpoints: HTTP/1.1, HTTP/2 (h2c in plaintext, ALPN `h2`
    # over TLS; one connection multiplexes many requests), or whatever the client spoke
    # (a sidecar's inbound side: the app is reached as its caller reached the sidecar).
    protocol: Literal["HTTP1", "HTTP2", "DOWNSTREAM"] = "HTTP1"
