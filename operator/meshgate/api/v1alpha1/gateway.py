"""Gateway: an edge proxy Deployment and Service, with Kubernetes Gateway API style listeners."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, StringConstraints

from .common import (
    API_VERSION,
    ApiModel,
    Conditions,
    Duration,
    Hostname,
    LabelSelector,
    LocalObjectReference,
    PortNumber,
    Quantity,
    SecretObjectReference,
    SectionName,
    Summary,
    cel,
    list_map,
    validations,
)
from .meta import ObjectMeta


class GatewayTLSConfig(ApiModel):
    """How a listener handles TLS: an HTTPS listener terminates it with its certificates; a TLS
    listener passes it through, routed by the client's SNI, to backends that terminate it.

    ```yaml
    tls:
      certificateRefs:
        - name: shop-example-com-tls
    # or, on a listener of protocol TLS:
    tls:
      mode: Passthrough
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.mode != 'Terminate' || has(self.certificateRefs)",
                "certificateRefs are required when mode is Terminate",
                field_path=".certificateRefs",
            ),
            cel(
                "self.mode != 'Passthrough' || !has(self.certificateRefs)",
                "certificateRefs must not be set when mode is Passthrough: the backend holds "
                "the certificate",
                field_path=".certificateRefs",
            ),
        )
    )

    mode: Literal["Terminate", "Passthrough"] = "Terminate"
    """`Terminate` (protocol HTTPS): the gateway terminates TLS and forwards plain HTTP (over
    mesh mTLS) to backends. `Passthrough` (protocol TLS): the gateway reads only the client's
    SNI and forwards the encrypted bytes to the backend, which terminates TLS."""
    certificate_refs: (
        Annotated[list[SecretObjectReference], Field(min_length=1, max_length=8)] | None
    ) = None
    """`kubernetes.io/tls` Secrets holding the certificate and key; the first one matching the
    client's SNI is served. Required for Terminate, forbidden for Passthrough."""


class RouteNamespaces(ApiModel):
    """Which namespaces may attach Routes to a listener."""

    from_: Literal["All", "Same", "Selector"] = Field(default="Same", alias="from")
    """`Same`: only the Gateway's namespace; `All`: every namespace; `Selector`: namespaces
    matching `selector`."""
    selector: LabelSelector | None = None
    """Namespace labels, used when `from` is `Selector`."""


class AllowedRoutes(ApiModel):
    """Which Routes may attach to a listener."""

    namespaces: RouteNamespaces = Field(default_factory=RouteNamespaces)
    """Namespaces Routes may come from."""


class ListenerConnectionLimits(ApiModel):
    """What one client may cost this listener: how long it may take and how much it may hold.
    Unset fields keep the proxy's defaults (in each description). A timeout of `0s` or a cap of
    `0` turns that limit off. Listeners that share a port must set the same limits.

    ```yaml
    connectionLimits:
      headerTimeout: 5s
      maxConnectionsPerClient: 256
    ```
    """

    header_timeout: Duration | None = None
    """From a request's first byte to its last header (default 10s); slower: closed. On a TLS
    listener: from connecting to the whole ClientHello."""
    body_timeout: Duration | None = None
    """Longest pause in a request body still arriving (default 15s); longer: 408, closed."""
    request_timeout: Duration | None = None
    """The whole request, head and body, must be received within this (default 60s)."""
    idle_timeout: Duration | None = None
    """A keep-alive connection with no request is closed after this (default 60s). On TCP and
    TLS listeners: a connection with no byte either way (closed after one to two of these)."""
    send_timeout: Duration | None = None
    """Longest a response may sit unsent because the client is not reading (default 30s)."""
    write_buffer_bytes: Annotated[int, Field(ge=4096, le=16777216)] | None = None
    """Unsent response bytes held per connection before the upstream is paused (default
    65536)."""
    max_connections: Annotated[int, Field(ge=0, le=1000000)] | None = None
    """Open connections on this listener, per proxy (default 10000); more are closed at once."""
    max_connections_per_client: Annotated[int, Field(ge=0, le=1000000)] | None = None
    """Open connections from one client address, per proxy (default 1024)."""
    max_pending_requests: Annotated[int, Field(ge=0, le=1000000)] | None = None
    """Requests in progress on this listener, per proxy (default 4096); more are answered 503
    with `Retry-After`."""


class Listener(ApiModel):
    """One port the gateway accepts traffic on.

    ```yaml
    - name: https
      port: 8443
      protocol: HTTPS
      hostname: shop.example.com
      tls:
        certificateRefs:
          - name: shop-example-com-tls
    ```
    """

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.protocol != 'HTTPS' || has(self.tls)",
                "tls with certificateRefs is required when protocol is HTTPS",
                field_path=".tls",
            ),
            cel(
                "self.protocol != 'HTTP' || !has(self.tls)",
                "tls must not be set when protocol is HTTP; use protocol HTTPS to terminate TLS",
                field_path=".tls",
            ),
            cel(
                "self.protocol != 'HTTPS' || !has(self.tls) || self.tls.mode == 'Terminate'",
                "an HTTPS listener terminates TLS: tls.mode must be Terminate; use protocol TLS "
                "to pass TLS through",
                field_path=".tls.mode",
            ),
            cel(
                "self.protocol != 'TLS' || (has(self.tls) && self.tls.mode == 'Passthrough')",
                "protocol TLS needs tls.mode Passthrough (routed by SNI, never terminated); "
                "use protocol HTTPS to terminate TLS at the gateway",
                field_path=".tls",
            ),
            cel(
                "self.protocol != 'TCP' || !has(self.tls)",
                "tls must not be set when protocol is TCP",
                field_path=".tls",
            ),
            cel(
                "self.protocol != 'TCP' || !has(self.hostname)",
                "a TCP listener has no hostname: plain TCP carries no server name; use "
                "protocol TLS to route by SNI",
                field_path=".hostname",
            ),
        )
    )

    name: SectionName
    """Name of the listener, unique within the Gateway; Routes may pick it with
    `parentRefs[].sectionName`."""
    port: PortNumber
    """Port the gateway proxy listens on and the Service exposes."""
    protocol: Literal["HTTP", "HTTPS", "TCP", "TLS"]
    """`HTTP`, `HTTPS` (TLS terminated at the gateway), `TCP` (bytes forwarded to the one
    Route's backends) or `TLS` (passed through, routed by SNI to the Route whose hostnames
    name it). Routes on TCP and TLS listeners may only have backendRefs in their rules."""
    hostname: Hostname | None = None
    """Only requests for this host (Host header or SNI) are accepted; a leading `*.` matches
    one or more labels. Unset accepts every host. Not for TCP."""
    tls: GatewayTLSConfig | None = None
    """TLS settings; required for HTTPS (Terminate) and TLS (Passthrough), forbidden for HTTP
    and TCP."""
    allowed_routes: AllowedRoutes = Field(default_factory=AllowedRoutes)
    """Which Routes may attach; by default only Routes in the Gateway's namespace."""
    connection_limits: ListenerConnectionLimits | None = None
    """Timeouts and connection caps for slow or greedy clients; unset keeps safe defaults."""


class GatewayService(ApiModel):
    """The Service in front of the gateway proxy Pods."""

    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "LoadBalancer"
    """Service type."""
    annotations: Annotated[
        dict[str, Annotated[str, StringConstraints(max_length=4096)]], Field(max_length=64)
    ] = Field(default_factory=dict)
    """Annotations for the Service, e.g. for a cloud load balancer."""


class ResourceRequirements(ApiModel):
    """Compute resources of the gateway proxy container."""

    requests: Annotated[dict[str, Quantity], Field(max_length=8)] | None = None
    """Minimum resources, e.g. `{cpu: 100m, memory: 64Mi}`."""
    limits: Annotated[dict[str, Quantity], Field(max_length=8)] | None = None
    """Maximum resources, e.g. `{memory: 256Mi}`."""


class EdgeDefaults(ApiModel):
    """Edge policies applied to every Route attached to this Gateway unless a policy that
    targets the Route itself says otherwise.

    ```yaml
    defaults:
      requestTimeout: 30s
      authenticationRef:
        name: partner-keys
      rateLimitPolicyRef:
        name: per-client
    ```
    """

    request_timeout: Duration | None = None
    """Whole-request timeout for routes that set none."""
    max_request_body_bytes: Annotated[int, Field(ge=0)] = 10485760
    """Largest request body accepted, in bytes; larger requests get 413."""
    authentication_ref: LocalObjectReference | None = None
    """An EdgeAuthentication applied to every route on this gateway."""
    rate_limit_policy_ref: LocalObjectReference | None = None
    """A RateLimitPolicy applied to every route on this gateway."""


class GatewayCatalog(ApiModel):
    """Serve the API catalog page on every listener of this gateway: one HTML page listing each
    API attached to it (hosts, paths and versions, methods, authentication, rate limits, and the
    OpenAPI document a Route carries in its `meshgate.io/openapi` annotation).

    ```yaml
    catalog:
      path: /apis
    ```
    """

    path: Annotated[
        str, StringConstraints(min_length=2, max_length=256, pattern=r"^/[A-Za-z0-9._~/-]*$")
    ]
    """Exact path the page is served on; it takes precedence over any Route's match of that
    same path. Edge policies of the Gateway's own `defaults` apply to it as to every request."""


class GatewaySpec(ApiModel):
    """Desired state of a Gateway."""

    listeners: Annotated[
        list[Listener],
        Field(
            min_length=1,
            max_length=16,
            json_schema_extra=list_map("name")
            | validations(
                cel(
                    "self.all(a, self.all(b, a.port != b.port || a.protocol == b.protocol))",
                    "listeners that share a port must use the same protocol",
                ),
                cel(
                    "self.all(a, self.all(b, a.name == b.name || a.port != b.port"
                    " || (has(a.hostname) && has(b.hostname) && a.hostname != b.hostname)))",
                    "listeners that share a port need distinct hostnames",
                ),
                cel(
                    "self.all(a, self.all(b, a.port != b.port"
                    " || has(a.connectionLimits) == has(b.connectionLimits)"
                    " && (!has(a.connectionLimits) || a.connectionLimits == b.connectionLimits)))",
                    "listeners that share a port must set the same connectionLimits",
                ),
            ),
        ),
    ]
    """Ports, protocols and hostnames the gateway serves."""
    replicas: Annotated[int, Field(ge=1, le=100)] = 2
    """Number of gateway proxy Pods."""
    service: GatewayService = Field(default_factory=GatewayService)
    """The Service in front of the proxies."""
    resources: ResourceRequirements | None = None
    """Compute resources of each proxy."""
    defaults: EdgeDefaults | None = None
    """Edge policies for every Route on this Gateway."""
    catalog: GatewayCatalog | None = None
    """Opt in to serving the API catalog page on this gateway."""


class ListenerStatus(ApiModel):
    """State of one listener."""

    name: SectionName
    """Listener name."""
    attached_routes: Annotated[int, Field(ge=0)]
    """Number of Routes attached to this listener."""
    conditions: Conditions = Field(default_factory=list)
    """Accepted, ResolvedRefs (certificates found), Programmed."""


class GatewayAddress(ApiModel):
    """An address clients can reach the gateway at."""

    type: Literal["IPAddress", "Hostname"] = "IPAddress"
    """Kind of address."""
    value: Annotated[str, StringConstraints(min_length=1, max_length=253)]
    """The address."""


class GatewaySummary(Summary):
    """What `kubectl get gateways.meshgate.io` prints."""

    ready: Annotated[str, StringConstraints(max_length=16)] | None = None
    """Ready proxy Pods over desired, e.g. `2/2`."""
    routes: Annotated[int, Field(ge=0)] | None = None
    """Routes attached across all listeners."""


class ProxyConfigStatus(ApiModel):
    """How many of the Gateway's proxies run its current config (as `istioctl proxy-status`),
    counted by the operator's config server from the proxies' own acknowledgements.

    ```yaml
    proxies: {version: 3f2a9c1d0e4b5a67, current: 2, total: 2}
    ```
    """

    version: Annotated[str, StringConstraints(max_length=64)]
    """The current config version."""
    current: Annotated[int, Field(ge=0)]
    """Proxies running it."""
    total: Annotated[int, Field(ge=0)]
    """Proxies streaming their config from the operator."""


class GatewayStatus(ApiModel):
    """Observed state of a Gateway, written by the operator.

    Conditions: `Accepted` (the spec is valid), `Programmed` (proxy config, Deployment and
    Service are written), `Ready` (proxies are serving the latest config).
    """

    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The `.metadata.generation` this status describes."""
    conditions: Conditions = Field(default_factory=list)
    """Accepted, Programmed, Ready."""
    addresses: Annotated[list[GatewayAddress], Field(max_length=16)] = Field(default_factory=list)
    """Where clients reach the gateway."""
    listeners: Annotated[
        list[ListenerStatus], Field(max_length=16, json_schema_extra=list_map("name"))
    ] = Field(default_factory=list)
    """Per-listener state."""
    summary: GatewaySummary | None = None
    """The verdict `kubectl get` prints."""
    proxies: ProxyConfigStatus | None = None
    """Proxies on the current config version over proxies streaming config."""


class Gateway(ApiModel):
    """An edge gateway: meshgate runs proxy Pods and a Service that serve these listeners and the
    Routes attached to them."""

    example: ClassVar[str] = """\
apiVersion: meshgate.io/v1alpha1
kind: Gateway
metadata:
  name: edge
  namespace: shop
spec:
  replicas: 2
  listeners:
    - name: http
      port: 8080
      protocol: HTTP
    - name: https
      port: 8443
      protocol: HTTPS
      hostname: shop.example.com
      tls:
        certificateRefs:
          - name: shop-example-com-tls
"""

    api_version: Literal["meshgate.io/v1alpha1"] = API_VERSION
    kind: Literal["Gateway"] = "Gateway"
    metadata: ObjectMeta
    spec: GatewaySpec
    status: GatewayStatus | None = None
