"""The proxy config schema: the one contract between the operator and every meshproxy.

The operator imports these models to produce config (ConfigMap key `config.json`); the proxy
loads and validates the same models at start and on every reload. Durations are float seconds
and everything a request needs is resolved ahead of time (cluster endpoints, policy attachment),
so the proxy never has to look anything up while serving.

This module must stay pure data: no I/O beyond `load_config`, no imports from the operator.
Changes are additive within one `schema` version; a breaking change bumps `SCHEMA`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

SCHEMA: Literal["meshproxy/v1"] = "meshproxy/v1"

Seconds = Annotated[float, Field(ge=0)]
Percent = Annotated[float, Field(ge=0, le=100)]
Port = Annotated[int, Field(ge=1, le=65535)]
MtlsMode = Literal["STRICT", "PERMISSIVE", "DISABLE"]

# Ports the sidecar keeps for itself; inbound traffic is never forwarded to them.
RESERVED_PORTS = frozenset({15001, 15006, 15090})


class Model(BaseModel):
    """Base of every config model: camelCase on the wire, unknown fields rejected."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, alias_generator=to_camel, frozen=True
    )


# --- where a proxy runs -------------------------------------------------------------------------


class Node(Model):
    """Who this proxy is. Labels let one namespace-wide config carry workload-scoped policy."""

    role: Literal["gateway", "sidecar"]
    name: str = ""
    namespace: str = ""
    labels: dict[str, str] = Field(default_factory=dict)


class Identity(Model):
    """The workload's mesh identity: files from the mounted identity Secret."""

    cert_file: str
    key_file: str
    ca_file: str
    trust_domain: str = "cluster.local"


# --- matching and transforming requests ---------------------------------------------------------


class PathMatch(Model):
    type: Literal["Exact", "PathPrefix", "RegularExpression"] = "PathPrefix"
    value: str = "/"


class HeaderMatch(Model):
    name: str
    type: Literal["Exact", "RegularExpression", "Present"] = "Exact"
    value: str = ""
    invert: bool = False


class QueryParamMatch(Model):
    name: str
    type: Literal["Exact", "RegularExpression", "Present"] = "Exact"
    value: str = ""


class RouteMatch(Model):
    """All given conditions must hold. An empty match matches every request."""

    path: PathMatch | None = None
    headers: list[HeaderMatch] = Field(default_factory=list)
    query_params: list[QueryParamMatch] = Field(default_factory=list)
    method: str | None = None


class HeaderModifier(Model):
    set: dict[str, str] = Field(default_factory=dict)
    add: dict[str, str] = Field(default_factory=dict)
    remove: list[str] = Field(default_factory=list)


class PathRewrite(Model):
    """`ReplaceFullPath` replaces the whole path; `ReplacePrefixMatch` the matched prefix."""

    type: Literal["ReplaceFullPath", "ReplacePrefixMatch"]
    value: str


class Rewrite(Model):
    hostname: str | None = None
    path: PathRewrite | None = None


class Redirect(Model):
    scheme: Literal["http", "https"] | None = None
    hostname: str | None = None
    port: Port | None = None
    path: PathRewrite | None = None
    status_code: Literal[301, 302, 303, 307, 308] = 302


class DirectResponse(Model):
    status: Annotated[int, Field(ge=200, le=599)]
    body: str = ""
    headers: dict[str, str] = Field(default_factory=dict)


class FaultDelay(Model):
    fixed_delay: Seconds
    percent: Percent = 100


class FaultAbort(Model):
    status: Annotated[int, Field(ge=200, le=599)]
    percent: Percent = 100


class Fault(Model):
    delay: FaultDelay | None = None
    abort: FaultAbort | None = None


class Cors(Model):
    allow_origins: list[str] = Field(default_factory=list)  # exact, or "*"
    allow_origin_regexes: list[str] = Field(default_factory=list)
    allow_methods: list[str] = Field(default_factory=list)
    allow_headers: list[str] = Field(default_factory=list)
    expose_headers: list[str] = Field(default_factory=list)
    max_age: Seconds | None = None
    allow_credentials: bool = False


class Cache(Model):
    """Caches GET responses that Cache-Control allows, in a bounded LRU."""

    max_entries: Annotated[int, Field(ge=1)] = 1024
    max_body_bytes: Annotated[int, Field(ge=1)] = 1 << 20
    default_ttl: Seconds = 0  # used only when the response says nothing; 0 = do not cache


class JsonProjection(Model):
    """Keep only these dotted fields of a JSON response body (e.g. `items.id`)."""

    fields: list[str]
    max_body_bytes: Annotated[int, Field(ge=1)] = 1 << 20


class Mirror(Model):
    cluster: str
    percent: Percent = 100


class Backoff(Model):
    base_interval: Seconds = 0.025
    max_interval: Seconds = 0.25
    jitter: Annotated[float, Field(ge=0, le=1)] = 0.5


class RetryBudget(Model):
    """Retries may add at most `percent` of the active requests, and always `min_concurrency`."""

    percent: Percent = 20
    min_concurrency: Annotated[int, Field(ge=0)] = 3


RetryOn = Literal[
    "5xx", "gateway-error", "connect-failure", "reset", "retriable-status-codes", "refused-stream"
]

_DEFAULT_RETRY_ON: tuple[RetryOn, ...] = ("connect-failure", "reset")


class Retry(Model):
    attempts: Annotated[int, Field(ge=0, le=10)] = 2  # retries after the first try
    per_try_timeout: Seconds | None = None
    retry_on: list[RetryOn] = Field(default_factory=lambda: list(_DEFAULT_RETRY_ON))
    retriable_status_codes: list[Annotated[int, Field(ge=100, le=599)]] = Field(
        default_factory=list
    )
    backoff: Backoff = Field(default_factory=Backoff)
    budget: RetryBudget | None = None
    retry_non_idempotent: bool = False


class WeightedCluster(Model):
    cluster: str
    weight: Annotated[int, Field(ge=0)] = 1


class Forward(Model):
    """Send the request upstream to one of the weighted clusters."""

    clusters: list[WeightedCluster] = Field(min_length=1)
    timeout: Seconds | None = None  # the whole request, retries included
    retry: Retry | None = None
    rewrite: Rewrite | None = None
    mirrors: list[Mirror] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_weight(self) -> Forward:
        if not any(c.weight for c in self.clusters):
            raise ValueError("forward.clusters: at least one weight must be above zero")
        return self


class Route(Model):
    """One match and what to do with it. Exactly one of forward, redirect, direct_response."""

    name: str
    source: str = ""  # the resource it came from, `<namespace>/<name>`; a metrics label
    match: RouteMatch = Field(default_factory=RouteMatch)
    forward: Forward | None = None
    redirect: Redirect | None = None
    direct_response: DirectResponse | None = None
    request_headers: HeaderModifier | None = None
    response_headers: HeaderModifier | None = None
    fault: Fault | None = None
    cors: Cors | None = None
    cache: Cache | None = None
    json_projection: JsonProjection | None = None
    authn: list[str] = Field(default_factory=list)  # names in ProxyConfig.authn
    rate_limits: list[str] = Field(default_factory=list)  # names in ProxyConfig.rate_limits

    @model_validator(mode="after")
    def _one_action(self) -> Route:
        actions = [a for a in (self.forward, self.redirect, self.direct_response) if a]
        if len(actions) != 1:
            raise ValueError(
                f"route {self.name!r}: set exactly one of forward, redirect, directResponse"
            )
        return self


class VirtualHost(Model):
    """Routes for a set of domains. `*` matches any host; `*.example.com` any subdomain."""

    name: str
    domains: list[str] = Field(min_length=1)
    routes: list[Route] = Field(default_factory=list)


# --- upstreams ----------------------------------------------------------------------------------


class Endpoint(Model):
    address: str
    port: Port
    weight: Annotated[int, Field(ge=1)] = 1
    labels: dict[str, str] = Field(default_factory=dict)


class ConsistentHash(Model):
    header: str | None = None
    cookie: str | None = None
    source_ip: bool = False


class LoadBalancer(Model):
    policy: Literal["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "CONSISTENT_HASH"] = "ROUND_ROBIN"
    consistent_hash: ConsistentHash | None = None


class ConnectionPool(Model):
    max_connections: Annotated[int, Field(ge=1)] = 1024
    max_pending_requests: Annotated[int, Field(ge=1)] = 1024
    max_requests_per_connection: Annotated[int, Field(ge=0)] = 0  # 0 = unlimited
    idle_timeout: Seconds = 60
    connect_timeout: Seconds = 5


class OutlierDetection(Model):
    # The generated camelCase would be `consecutive5XxErrors`; users write Istio's spelling.
    consecutive_5xx_errors: Annotated[int, Field(ge=0, alias="consecutive5xxErrors")] = 5
    consecutive_gateway_errors: Annotated[int, Field(ge=0)] = 0
    interval: Seconds = 10
    base_ejection_time: Seconds = 30
    max_ejection_percent: Percent = 10


class UpstreamTLS(Model):
    """`MESH` is mTLS to the peer's inbound port with this proxy's identity."""

    mode: Literal["DISABLE", "SIMPLE", "MUTUAL", "MESH"] = "DISABLE"
    sni: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    # Identities the peer may present (SPIFFE IDs); empty = any identity of the trust domain.
    expected_identities: list[str] = Field(default_factory=list)


class Cluster(Model):
    name: str
    endpoints: list[Endpoint] = Field(default_factory=list)
    load_balancer: LoadBalancer = Field(default_factory=LoadBalancer)
    connection_pool: ConnectionPool = Field(default_factory=ConnectionPool)
    outlier_detection: OutlierDetection | None = None
    tls: UpstreamTLS = Field(default_factory=UpstreamTLS)
    mesh_inbound_port: Port = 15006  # where peers' sidecars listen when tls.mode is MESH


# --- policy -------------------------------------------------------------------------------------


class ApiKeyConsumer(Model):
    consumer: str
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class ApiKeyAuthn(Model):
    header: str | None = "x-api-key"
    query: str | None = None
    keys: list[ApiKeyConsumer] = Field(default_factory=list)
    keys_file: str | None = None  # JSON list of {consumer, sha256}, from a mounted Secret
    consumer_header: str = "x-meshgate-consumer"


class ClaimToHeader(Model):
    claim: str
    header: str


class JwtProvider(Model):
    issuer: str
    audiences: list[str] = Field(default_factory=list)
    jwks: str | None = None  # inline JWKS JSON
    jwks_file: str | None = None
    jwks_uri: str | None = None
    jwks_cache_seconds: Seconds = 300
    claim_to_headers: list[ClaimToHeader] = Field(default_factory=list)
    clock_skew: Annotated[float, Field(ge=0, le=300)] = 60
    header: str = "authorization"  # read `Bearer <token>` from here


class JwtAuthn(Model):
    providers: list[JwtProvider] = Field(min_length=1)


class AuthnPolicy(Model):
    """Edge authentication. A request passes when any configured method accepts it."""

    name: str
    api_key: ApiKeyAuthn | None = None
    jwt: JwtAuthn | None = None


class AuthzSource(Model):
    principals: list[str] = Field(default_factory=list)
    not_principals: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    not_namespaces: list[str] = Field(default_factory=list)


class AuthzOperation(Model):
    methods: list[str] = Field(default_factory=list)
    not_methods: list[str] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list)
    not_paths: list[str] = Field(default_factory=list)
    ports: list[Port] = Field(default_factory=list)
    not_ports: list[Port] = Field(default_factory=list)
    hosts: list[str] = Field(default_factory=list)
    not_hosts: list[str] = Field(default_factory=list)


class AuthzCondition(Model):
    key: str  # e.g. request.headers[x-tenant], source.principal
    values: list[str] = Field(default_factory=list)
    not_values: list[str] = Field(default_factory=list)


class AuthzRule(Model):
    from_: list[AuthzSource] = Field(default_factory=list, alias="from")
    to: list[AuthzOperation] = Field(default_factory=list)
    when: list[AuthzCondition] = Field(default_factory=list)


class AuthzPolicy(Model):
    name: str
    selector: dict[str, str] | None = None  # matched against Node.labels; None = every workload
    action: Literal["ALLOW", "DENY"] = "ALLOW"
    rules: list[AuthzRule] = Field(default_factory=list)


class RateLimitKey(Model):
    type: Literal["ClientIP", "Header", "ApiKeyConsumer", "JwtClaim"] = "ClientIP"
    name: str | None = None  # the header or claim


class RateLimitPolicy(Model):
    """A token bucket of `requests` per `per_seconds`, `burst` deep, for each key value."""

    name: str
    key: RateLimitKey = Field(default_factory=RateLimitKey)
    requests: Annotated[int, Field(ge=1)]
    per_seconds: Annotated[float, Field(gt=0)] = 1
    burst: Annotated[int, Field(ge=1)] | None = None
    mode: Literal["Local", "Global"] = "Local"
    redis_url: str | None = None
    redis_url_file: str | None = None
    failure_mode: Literal["Open", "Closed"] = "Open"
    divisor: Annotated[int, Field(ge=1)] = 1  # local share when a limit is split across replicas


class PeerAuthn(Model):
    """mTLS mode for inbound traffic of the workloads the selector picks (None = all)."""

    selector: dict[str, str] | None = None
    mode: MtlsMode = "PERMISSIVE"
    port_modes: dict[str, MtlsMode] = Field(default_factory=dict)  # target port -> mode


# --- listeners ----------------------------------------------------------------------------------


class ServerTLS(Model):
    cert_file: str
    key_file: str
    client_ca_file: str | None = None
    require_client_cert: bool = False
    alpn: list[str] = Field(default_factory=lambda: ["http/1.1"])


class Inbound(Model):
    """A sidecar's inbound side: verify the peer, authorize, then forward to the local app."""

    forward_address: str = "127.0.0.1"
    allowed_ports: list[Port] = Field(default_factory=list)
    peer_authn: list[PeerAuthn] = Field(default_factory=list)  # most specific wins

    @model_validator(mode="after")
    def _no_reserved(self) -> Inbound:
        bad = sorted(set(self.allowed_ports) & RESERVED_PORTS)
        if bad:
            raise ValueError(f"inbound.allowedPorts: {bad} are the proxy's own ports")
        return self


class Listener(Model):
    name: str
    address: str = "0.0.0.0"  # noqa: S104 - a gateway listens on every interface by design
    port: Port
    role: Literal["edge", "outbound", "inbound"]
    tls: ServerTLS | None = None
    virtual_hosts: list[VirtualHost] = Field(default_factory=list)
    inbound: Inbound | None = None
    authn: list[str] = Field(default_factory=list)
    authz: list[str] = Field(default_factory=list)
    rate_limits: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _role_fits(self) -> Listener:
        if self.role == "inbound" and self.inbound is None:
            raise ValueError(f"listener {self.name!r}: role inbound needs `inbound`")
        if self.role != "inbound" and self.inbound is not None:
            raise ValueError(f"listener {self.name!r}: `inbound` is only for role inbound")
        return self


# --- process-wide settings ----------------------------------------------------------------------


class AccessLog(Model):
    enabled: bool = True
    path: str = "-"  # "-" is stdout


class Tracing(Model):
    propagate: bool = True  # W3C traceparent: forward, or start one when absent
    request_id_header: str = "x-request-id"


class Observability(Model):
    access_log: AccessLog = Field(default_factory=AccessLog)
    tracing: Tracing = Field(default_factory=Tracing)


class Limits(Model):
    max_header_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024
    max_request_body_bytes: Annotated[int, Field(ge=0)] = 16 * 1024 * 1024
    header_timeout: Seconds = 10
    idle_timeout: Seconds = 60
    drain_timeout: Seconds = 20
    max_pipelined_requests: Annotated[int, Field(ge=1)] = 64


class ProxyConfig(Model):
    schema_: Literal["meshproxy/v1"] = Field(default=SCHEMA, alias="schema")
    version: str = ""  # content hash the operator computed; shown in metrics and /config
    node: Node
    identity: Identity | None = None
    listeners: list[Listener] = Field(default_factory=list)
    clusters: list[Cluster] = Field(default_factory=list)
    authn: list[AuthnPolicy] = Field(default_factory=list)
    authz: list[AuthzPolicy] = Field(default_factory=list)
    rate_limits: list[RateLimitPolicy] = Field(default_factory=list)
    observability: Observability = Field(default_factory=Observability)
    limits: Limits = Field(default_factory=Limits)

    @model_validator(mode="after")
    def _references_resolve(self) -> ProxyConfig:
        """Every name a route or listener uses must exist: a dangling one is a compile bug."""
        clusters = {c.name for c in self.clusters}
        authn = {a.name for a in self.authn}
        authz = {a.name for a in self.authz}
        limits = {r.name for r in self.rate_limits}
        problems: list[str] = []
        ports: set[tuple[str, int]] = set()
        for listener in self.listeners:
            if (listener.address, listener.port) in ports:
                problems.append(f"listener {listener.name!r}: port {listener.port} used twice")
            ports.add((listener.address, listener.port))
            problems += _missing(listener.name, "authn", listener.authn, authn)
            problems += _missing(listener.name, "authz", listener.authz, authz)
            problems += _missing(listener.name, "rateLimits", listener.rate_limits, limits)
            for vhost in listener.virtual_hosts:
                for route in vhost.routes:
                    problems += _missing(route.name, "authn", route.authn, authn)
                    problems += _missing(route.name, "rateLimits", route.rate_limits, limits)
                    if route.forward:
                        used = [c.cluster for c in route.forward.clusters]
                        used += [m.cluster for m in route.forward.mirrors]
                        problems += _missing(route.name, "cluster", used, clusters)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _missing(owner: str, what: str, used: list[str], known: set[str]) -> list[str]:
    return [f"{owner!r}: {what} {name!r} is not defined" for name in used if name not in known]


class ConfigError(Exception):
    """The config file cannot be used; the message says where and what to fix."""


def parse_config(raw: bytes | str) -> ProxyConfig:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config is not valid JSON: {exc}") from None
    try:
        return ProxyConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from None


def load_config(path: str | Path) -> ProxyConfig:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    return parse_config(raw)


def dump_config(config: ProxyConfig) -> str:
    """Canonical JSON: sorted keys, camelCase, defaults included, so equal configs hash equal."""
    return json.dumps(
        config.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
    )


def _explain(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors()[:20]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{where}: {err['msg']}")
    more = exc.error_count() - len(lines)
    if more > 0:
        lines.append(f"... and {more} more")
    return "invalid config: " + "; ".join(lines)
