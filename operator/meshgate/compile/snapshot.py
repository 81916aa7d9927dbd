"""The compiler's input: one immutable picture of everything meshgate reads from the cluster.

A `Snapshot` is plain frozen data. Building one from API bodies is `meshgate.compile.ingest`'s
job; listing the bodies is the I/O layer's. Nothing here may perform I/O or import kopf or the
Kubernetes client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Generic, TypeVar

from pydantic import BaseModel

from meshgate.api.v1alpha1.authorization_policy import AuthorizationPolicySpec
from meshgate.api.v1alpha1.destination_rule import DestinationRuleSpec
from meshgate.api.v1alpha1.edge_authentication import EdgeAuthenticationSpec
from meshgate.api.v1alpha1.gateway import GatewaySpec
from meshgate.api.v1alpha1.peer_authentication import PeerAuthenticationSpec
from meshgate.api.v1alpha1.rate_limit_policy import RateLimitPolicySpec
from meshgate.api.v1alpha1.retry_policy import RetryPolicySpec
from meshgate.api.v1alpha1.route import RouteSpec
from meshgate.ownership import INJECT_ENABLED
from meshgate.ownership import INJECT_LABEL as INJECT_LABEL  # re-exported

SpecT = TypeVar("SpecT", bound=BaseModel)

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Meta:
    """What the compiler needs from `metadata`: identity, age (for precedence) and labels."""

    namespace: str
    name: str
    uid: str = ""
    generation: int = 0
    # RFC 3339 in UTC from the API server: sorts chronologically as a string.
    creation_timestamp: str = ""
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    # Only `meshgate.io/` annotations (a Route's description and OpenAPI document for the catalog).
    annotations: Mapping[str, str] = field(default_factory=lambda: _EMPTY, compare=False)

    # Cached (read hundreds of thousands of times a compile at 10,000 Routes); not fields, so
    # neither compared nor copied by `dataclasses.replace`.
    @cached_property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @cached_property
    def age_key(self) -> tuple[str, str, str]:
        """Older first, then namespace/name: the Gateway API tie-break."""
        return (self.creation_timestamp or "9999", self.namespace, self.name)


@dataclass(frozen=True)
class Resource(Generic[SpecT]):
    """A meshgate custom object. `spec` is None when it failed validation; `error` says why."""

    kind: str
    meta: Meta
    spec: SpecT | None
    error: str | None = None
    # The API the object came from: meshgate.io's own kinds, or the standard Gateway API ones
    # that `meshgate.gatewayapi` adapts into these models (they never mix in attachment).
    api_version: str = "meshgate.io/v1alpha1"


@dataclass(frozen=True)
class ServicePort:
    name: str
    port: int
    target_port: int | str
    protocol: str = "TCP"
    app_protocol: str = ""  # the Service port's `appProtocol` (e.g. `kubernetes.io/h2c`, `grpc`)


@dataclass(frozen=True)
class Service:
    meta: Meta
    ports: tuple[ServicePort, ...]
    selector: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    # The Service's virtual IP (None when headless or not yet allocated): sidecars also route a
    # request addressed to it, as to the Service's names.
    cluster_ip: str | None = None


@dataclass(frozen=True)
class Endpoint:
    address: str
    ready: bool
    pod: str | None = None  # targetRef name when it points at a Pod


@dataclass(frozen=True)
class EndpointPort:
    name: str
    port: int


@dataclass(frozen=True)
class EndpointSlice:
    meta: Meta
    service: str  # label kubernetes.io/service-name
    ports: tuple[EndpointPort, ...]
    endpoints: tuple[Endpoint, ...]


@dataclass(frozen=True)
class Pod:
    meta: Meta


@dataclass(frozen=True)
class Secret:
    """A Secret's shape, never its values."""

    meta: Meta
    type: str
    keys: frozenset[str]
    # tls.crt and tls.key both hold PEM blocks (checked at ingest; the values are never kept).
    valid_tls: bool = True


@dataclass(frozen=True)
class EdgeSecret:
    """A Secret an edge policy reads, reduced by the I/O layer before the compiler sees it:
    API keys as sha256 digests only, and the keys a policy reads as text (JWKS, Redis URL)."""

    namespace: str
    name: str
    digests: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # consumer -> sha256
    texts: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # data key -> text


@dataclass(frozen=True)
class Namespace:
    name: str
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    @property
    def meshed(self) -> bool:
        return self.labels.get(INJECT_LABEL) == INJECT_ENABLED


@dataclass(frozen=True)
class GatewayRuntime:
    """What the generated workload reports back: ready proxies and the Service's addresses."""

    ready_replicas: int = 0
    addresses: tuple[tuple[str, str], ...] = ()  # (IPAddress|Hostname, value)


@dataclass(frozen=True)
class MeshSettings:
    """Cluster-wide facts the compiler needs and cannot find in the objects themselves."""

    operator_namespace: str = "meshgate-system"
    trust_domain: str = "cluster.local"
    cluster_domain: str = "cluster.local"
    # The chart's rateLimit.redisUrl: the Redis of Global RateLimitPolicies that name none.
    default_redis_url: str = ""


@dataclass(frozen=True)
class Snapshot:
    """Everything one compile reads. Tuples, so a snapshot can be shared and never changes."""

    settings: MeshSettings = field(default_factory=MeshSettings)
    gateways: tuple[Resource[GatewaySpec], ...] = ()
    routes: tuple[Resource[RouteSpec], ...] = ()
    destination_rules: tuple[Resource[DestinationRuleSpec], ...] = ()
    retry_policies: tuple[Resource[RetryPolicySpec], ...] = ()
    peer_authentications: tuple[Resource[PeerAuthenticationSpec], ...] = ()
    authorization_policies: tuple[Resource[AuthorizationPolicySpec], ...] = ()
    edge_authentications: tuple[Resource[EdgeAuthenticationSpec], ...] = ()
    rate_limit_policies: tuple[Resource[RateLimitPolicySpec], ...] = ()
    services: tuple[Service, ...] = ()
    endpoint_slices: tuple[EndpointSlice, ...] = ()
    pods: tuple[Pod, ...] = ()
    secrets: tuple[Secret, ...] = ()
    namespaces: tuple[Namespace, ...] = ()
    gateway_runtime: Mapping[str, GatewayRuntime] = field(default_factory=dict)
    # (namespace, name) -> the Secrets edge policies reference (`meshgate.compile.edge`).
    edge_secrets: Mapping[tuple[str, str], EdgeSecret] = field(default_factory=dict)
