"""Policy a listener or route names: edge authentication, authorization, rate limits, and the
mTLS modes of inbound traffic."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .base import Model, MtlsMode, Port, Positive, Seconds


class ApiKeyConsumer(Model, frozen=True):
    consumer: str
    sha256: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]


class ApiKeyAuthn(Model, frozen=True):
    header: str | None = "x-api-key"
    query: str | None = None
    keys: list[ApiKeyConsumer] = msgspec.field(default_factory=list)
    keys_file: str | None = None  # JSON list of {consumer, sha256}, from a mounted Secret
    consumer_header: str = "x-meshgate-consumer"


class ClaimToHeader(Model, frozen=True):
    claim: str
    header: str


class JwtProvider(Model, frozen=True):
    issuer: str
    audiences: list[str] = msgspec.field(default_factory=list)
    jwks: str | None = None  # inline JWKS JSON
    jwks_file: str | None = None
    jwks_uri: str | None = None
    jwks_cache_seconds: Seconds = 300.0
    claim_to_headers: list[ClaimToHeader] = msgspec.field(default_factory=list)
    clock_skew: Annotated[float, msgspec.Meta(ge=0, le=300)] = 60.0
    header: str = "authorization"  # read `Bearer <token>` from here


class JwtAuthn(Model, frozen=True):
    providers: Annotated[list[JwtProvider], msgspec.Meta(min_length=1)]


class AuthnPolicy(Model, frozen=True):
    """Edge authentication. A request passes when any configured method accepts it."""

    name: str
    api_key: ApiKeyAuthn | None = None
    jwt: JwtAuthn | None = None
    # A request that presents no credential passes, without a principal; one that presents a
    # bad credential is still refused. Applies when every policy in effect is optional.
    optional: bool = False


class AuthzSource(Model, frozen=True):
    principals: list[str] = msgspec.field(default_factory=list)
    not_principals: list[str] = msgspec.field(default_factory=list)
    namespaces: list[str] = msgspec.field(default_factory=list)
    not_namespaces: list[str] = msgspec.field(default_factory=list)


class AuthzOperation(Model, frozen=True):
    methods: list[str] = msgspec.field(default_factory=list)
    not_methods: list[str] = msgspec.field(default_factory=list)
    paths: list[str] = msgspec.field(default_factory=list)
    not_paths: list[str] = msgspec.field(default_factory=list)
    ports: list[Port] = msgspec.field(default_factory=list)
    not_ports: list[Port] = msgspec.field(default_factory=list)
    hosts: list[str] = msgspec.field(default_factory=list)
    not_hosts: list[str] = msgspec.field(default_factory=list)


class AuthzCondition(Model, frozen=True):
    key: str  # e.g. request.headers[x-tenant], source.principal
    values: list[str] = msgspec.field(default_factory=list)
    not_values: list[str] = msgspec.field(default_factory=list)


class AuthzRule(Model, frozen=True):
    from_: list[AuthzSource] = msgspec.field(default_factory=list, name="from")
    to: list[AuthzOperation] = msgspec.field(default_factory=list)
    when: list[AuthzCondition] = msgspec.field(default_factory=list)


class AuthzPolicy(Model, frozen=True):
    name: str
    selector: dict[str, str] | None = None  # matched against Node.labels; None = every workload
    action: Literal["ALLOW", "DENY"] = "ALLOW"
    rules: list[AuthzRule] = msgspec.field(default_factory=list)


RateLimitKeyType = Literal["ClientIP", "Header", "ApiKeyConsumer", "JwtClaim"]


class RateLimitKey(Model, frozen=True):
    type: RateLimitKeyType = "ClientIP"
    name: str | None = None  # the header or claim


class RateLimitPolicy(Model, frozen=True):
    """A token bucket of `requests` per `per_seconds`, `burst` deep, for each key value."""

    name: str
    requests: Positive
    key: RateLimitKey = msgspec.field(default_factory=RateLimitKey)
    per_seconds: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    burst: Positive | None = None
    mode: Literal["Local", "Global"] = "Local"
    redis_url: str | None = None
    redis_url_file: str | None = None
    failure_mode: Literal["Open", "Closed"] = "Open"
    divisor: Positive = 1  # local share when a limit is split across replicas


class PeerAuthn(Model, frozen=True):
    """mTLS mode for inbound traffic of the workloads the selector picks (None = all)."""

    selector: dict[str, str] | None = None
    mode: MtlsMode = "PERMISSIVE"
    port_modes: dict[str, MtlsMode] = msgspec.field(default_factory=dict)  # target port -> mode
