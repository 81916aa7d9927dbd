"""DestinationRule: how clients talk to a Service (balancing, pools, outlier ejection, TLS,
subsets), in Istio's DestinationRule shape so its YAML ports by changing apiVersion."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from .common import (
    API_VERSION,
    ApiModel,
    Duration,
    Labels,
    ObjectName,
    Percent,
    PolicyStatus,
    PortNumber,
    SectionName,
    cel,
    list_map,
    validations,
)
from .meta import ObjectMeta


class HTTPCookie(ApiModel):
    """A cookie to hash on; the proxy sets it when absent."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    """Cookie name."""
    path: Annotated[str, StringConstraints(max_length=1024)] | None = None
    """Cookie path."""
    ttl: Duration
    """Lifetime of a generated cookie."""


class ConsistentHashLB(ApiModel):
    """Session affinity: requests with the same key go to the same endpoint.

    ```yaml
    consistentHash:
      httpHeaderName: x-user-id
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "[has(self.httpHeaderName), has(self.httpCookie), has(self.useSourceIp)]"
                ".filter(x, x).size() == 1",
                "set exactly one of httpHeaderName, httpCookie or useSourceIp",
            ),
            cel(
                "!has(self.minimumRingSize)",
                "minimumRingSize is not served: meshproxy's hash needs no ring; remove it",
                field_path=".minimumRingSize",
            ),
        )
    )

    http_header_name: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    """Hash on this request header."""
    http_cookie: HTTPCookie | None = None
    """Hash on this cookie."""
    use_source_ip: bool | None = None
    """Hash on the client's IP address."""
    minimum_ring_size: Annotated[int, Field(ge=1, le=8388608)] | None = None
    """Not served: refused at admission (Istio's ring size; meshproxy keeps no ring)."""


class LoadBalancerSettings(ApiModel):
    """How an endpoint is picked.

    ```yaml
    loadBalancer:
      simple: LEAST_REQUEST
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!(has(self.simple) && has(self.consistentHash))",
                "set loadBalancer.simple or loadBalancer.consistentHash, not both",
            ),
        )
    )

    simple: Literal["UNSPECIFIED", "ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"] | None = None
    """A standard algorithm; `LEAST_REQUEST` (the default) picks the less busy of two random
    endpoints."""
    consistent_hash: ConsistentHashLB | None = None
    """Hash-based affinity."""


class TCPSettings(ApiModel):
    """Connection limits shared by HTTP and TCP."""

    max_connections: Annotated[int, Field(ge=1, le=2147483647)] | None = None
    """Most connections to each endpoint of the destination, per proxy (Istio counts the whole
    destination: with N endpoints, divide its value by N)."""
    connect_timeout: Duration | None = None
    """TCP connect timeout."""


class HTTPSettings(ApiModel):
    """HTTP request limits and connection reuse."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!has(self.maxRetries)",
                "maxRetries is not served: meshproxy has no limit on retries in flight to a"
                " destination; remove it (a RetryPolicy's budget bounds retries)",
                field_path=".maxRetries",
            ),
        )
    )

    http1_max_pending_requests: Annotated[int, Field(ge=1, le=2147483647)] | None = None
    """Most requests queued waiting for a connection to one endpoint; more are answered 503 at
    once and counted in `meshproxy_upstream_overflow_total`."""
    http2_max_requests: Annotated[int, Field(ge=1, le=2147483647)] | None = None
    """Most requests in flight at once to each endpoint over an HTTP/2 upstream (a Service port
    with appProtocol `kubernetes.io/h2c` or `grpc`, or named `grpc-*`/`http2-*`); more wait as
    pending requests or overflow. An HTTP/1.1 port is bounded by `tcp.maxConnections` instead."""
    max_requests_per_connection: Annotated[int, Field(ge=0, le=2147483647)] | None = None
    """Requests per connection before it is closed; 0 is unlimited, 1 disables keep-alive."""
    max_retries: Annotated[int, Field(ge=0, le=2147483647)] | None = None
    """Not served: refused at admission (Istio's limit on retries in flight)."""
    idle_timeout: Duration | None = None
    """An idle pooled connection is closed after this long."""


class ConnectionPoolSettings(ApiModel):
    """Limits on connections and requests to the destination.

    ```yaml
    connectionPool:
      tcp: {maxConnections: 100}
      http: {http1MaxPendingRequests: 10, idleTimeout: 1m}
    ```
    """

    tcp: TCPSettings | None = None
    """Connection limits."""
    http: HTTPSettings | None = None
    """Request limits."""


class OutlierDetection(ApiModel):
    """Eject endpoints that keep failing, for a while, growing with each ejection.

    ```yaml
    outlierDetection:
      consecutive5xxErrors: 3
      interval: 10s
      baseEjectionTime: 30s
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!has(self.minHealthPercent) || self.minHealthPercent == 0",
                "minHealthPercent above 0 is not served: meshproxy routes across every endpoint"
                " only once all of them are ejected (as minHealthPercent 0); remove it or set 0",
                field_path=".minHealthPercent",
            ),
        )
    )

    consecutive_5xx_errors: Annotated[int, Field(ge=0, le=2147483647)] | None = Field(
        default=None, alias="consecutive5xxErrors"
    )
    """5xx responses (and connection errors) in a row that eject an endpoint; 0 disables."""
    consecutive_gateway_errors: Annotated[int, Field(ge=0, le=2147483647)] | None = None
    """502, 503, 504 (and connection errors) in a row that eject an endpoint; 0 disables."""
    interval: Duration = "10s"
    """How often endpoints are evaluated."""
    base_ejection_time: Duration = "30s"
    """Minimum ejection; multiplied by the number of times the endpoint was ejected."""
    max_ejection_percent: Percent = 10
    """Most endpoints ejected at once, percent."""
    min_health_percent: Percent | None = None
    """Only `0` (the default) is served: when every endpoint is ejected, meshproxy routes across
    all of them. Values above 0 are refused at admission."""


class ClientTLSSettings(ApiModel):
    """TLS from the client proxy to the destination.

    ```yaml
    tls:
      mode: MESH_MUTUAL
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.mode != 'MUTUAL' || has(self.credentialName)",
                "credentialName (a Secret with tls.crt, tls.key"
                " and ca.crt) is required when mode is MUTUAL",
                field_path=".credentialName",
            ),
            cel(
                "!has(self.insecureSkipVerify) || !self.insecureSkipVerify",
                "insecureSkipVerify is not served: meshproxy always verifies the server"
                " certificate; remove it",
                field_path=".insecureSkipVerify",
            ),
        )
    )

    mode: Literal["DISABLE", "SIMPLE", "MUTUAL", "MESH_MUTUAL", "ISTIO_MUTUAL"]
    """`DISABLE`: plain text; `SIMPLE`: TLS; `MUTUAL`: TLS with a client certificate from
    `credentialName`; `MESH_MUTUAL`: the mesh's own mTLS identities (`ISTIO_MUTUAL` is accepted as
    the same thing)."""
    credential_name: ObjectName | None = None
    """Secret with `tls.crt`, `tls.key` and `ca.crt` for SIMPLE or MUTUAL."""
    sni: Annotated[str, StringConstraints(max_length=253)] | None = None
    """SNI to send."""
    subject_alt_names: (
        Annotated[list[Annotated[str, StringConstraints(max_length=253)]], Field(max_length=16)]
        | None
    ) = None
    """Accepted server certificate SANs."""
    insecure_skip_verify: bool | None = None
    """Not served: `true` is refused at admission; the server certificate is always verified."""

    @field_validator("mode")
    @classmethod
    def _istio_mutual_is_mesh_mutual(cls, mode: str) -> str:
        return "MESH_MUTUAL" if mode == "ISTIO_MUTUAL" else mode


class PortSelector(ApiModel):
    """A destination port."""

    number: PortNumber
    """Port number."""


class PortTrafficPolicy(ApiModel):
    """Traffic policy for one port of the destination."""

    port: PortSelector
    """The port these settings apply to."""
    load_balancer: LoadBalancerSettings | None = None
    """Endpoint selection."""
    connection_pool: ConnectionPoolSettings | None = None
    """Connection and request limits."""
    outlier_detection: OutlierDetection | None = None
    """Ejection of failing endpoints."""
    tls: ClientTLSSettings | None = None
    """TLS to the destination."""


class TrafficPolicy(ApiModel):
    """How clients talk to the destination."""

    load_balancer: LoadBalancerSettings | None = None
    """Endpoint selection."""
    connection_pool: ConnectionPoolSettings | None = None
    """Connection and request limits."""
    outlier_detection: OutlierDetection | None = None
    """Ejection of failing endpoints."""
    tls: ClientTLSSettings | None = None
    """TLS to the destination."""
    port_level_settings: Annotated[list[PortTrafficPolicy], Field(max_length=16)] | None = None
    """Overrides for single ports."""


class Subset(ApiModel):
    """A named group of the Service's endpoints, chosen by Pod labels; Routes send traffic to it
    with `backendRefs[].subset`.

    ```yaml
    subsets:
      - name: v2
        labels: {version: v2}
    ```
    """

    name: SectionName
    """Subset name, referenced by Routes."""
    labels: Annotated[Labels, Field(min_length=1, max_length=16)]
    """Pod labels selecting the subset's endpoints."""
    traffic_policy: TrafficPolicy | None = None
    """Overrides the destination's trafficPolicy for this subset."""


class DestinationRuleSpec(ApiModel):
    """Desired state of a DestinationRule."""

    host: Annotated[
        str,
        StringConstraints(
            min_length=1,
            max_length=253,
            pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        ),
    ]
    """The Service: `reviews` (same namespace) or `reviews.shop.svc.cluster.local`."""
    traffic_policy: TrafficPolicy | None = None
    """Policy for all traffic to the host."""
    subsets: (
        Annotated[list[Subset], Field(max_length=32, json_schema_extra=list_map("name"))] | None
    ) = None
    """Named versions of the Service."""


class DestinationRule(ApiModel):
    """Client-side traffic policy for one Service: load balancing, connection pools, outlier
    detection, TLS and subsets."""

    example: ClassVar[str] = """\
apiVersion: meshgate.io/v1alpha1
kind: DestinationRule
metadata:
  name: reviews
  namespace: shop
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
    outlierDetection:
      consecutive5xxErrors: 3
      interval: 10s
      baseEjectionTime: 30s
    tls:
      mode: ISTIO_MUTUAL
  subsets:
    - name: v1
      labels: {version: v1}
    - name: v2
      labels: {version: v2}
"""

    api_version: Literal["meshgate.io/v1alpha1"] = API_VERSION
    kind: Literal["DestinationRule"] = "DestinationRule"
    metadata: ObjectMeta
    spec: DestinationRuleSpec
    status: PolicyStatus | None = None
