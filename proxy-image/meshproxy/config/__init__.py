"""The proxy config schema: the one contract between the operator and every meshproxy.

The operator imports these structs to produce config (ConfigMap key `config.json`) and checks
what it built with the proxy's own decoder (`as_loaded`) before writing it; the proxy decodes and
validates the same structs at start and on every reload. Durations are float seconds and
everything a request needs is resolved ahead of time (cluster endpoints, policy attachment), so
the proxy never has to look anything up while serving.

One module per concept; this package must stay pure data: no I/O beyond `load_config`, no
imports from the operator, and nothing heavier than msgspec (the proxy process never loads
pydantic). Changes are additive within one `schema` version; a breaking change bumps `SCHEMA`.
"""

from __future__ import annotations

from .base import Model, MtlsMode, Percent, Port, Seconds
from .clusters import (
    Cluster,
    ConnectionPool,
    ConsistentHash,
    Endpoint,
    LoadBalancer,
    OutlierDetection,
    UpstreamTLS,
)
from .codec import (
    ConfigError,
    as_loaded,
    canonical_json,
    dump_config,
    load_config,
    parse_config,
    to_data,
)
from .filters import (
    Cache,
    Cors,
    DirectResponse,
    Fault,
    FaultAbort,
    FaultDelay,
    HeaderModifier,
    JsonProjection,
    PathRewrite,
    Redirect,
    Rewrite,
)
from .forward import Backoff, Forward, Mirror, Retry, RetryBudget, RetryOn, WeightedCluster
from .http2 import Http2Limits
from .listeners import (
    RESERVED_PORTS,
    ConnectionLimits,
    Inbound,
    Listener,
    ServerTLS,
    SniCertificate,
)
from .match import HeaderMatch, PathMatch, QueryParamMatch, RouteMatch
from .node import Identity, Node
from .passthrough import Passthrough, PassthroughRoute
from .policy import (
    ApiKeyAuthn,
    ApiKeyConsumer,
    AuthnPolicy,
    AuthzCondition,
    AuthzOperation,
    AuthzPolicy,
    AuthzRule,
    AuthzSource,
    ClaimToHeader,
    JwtAuthn,
    JwtProvider,
    PeerAuthn,
    RateLimitKey,
    RateLimitKeyType,
    RateLimitPolicy,
)
from .proxy import SCHEMA, ProxyConfig
from .routes import Route, VirtualHost
from .settings import AccessLog, Limits, Observability, Tracing

__all__ = [
    "RESERVED_PORTS",
    "SCHEMA",
    "AccessLog",
    "ApiKeyAuthn",
    "ApiKeyConsumer",
    "AuthnPolicy",
    "AuthzCondition",
    "AuthzOperation",
    "AuthzPolicy",
    "AuthzRule",
    "AuthzSource",
    "Backoff",
    "Cache",
    "ClaimToHeader",
    "Cluster",
    "ConfigError",
    "ConnectionLimits",
    "ConnectionPool",
    "ConsistentHash",
    "Cors",
    "DirectResponse",
    "Endpoint",
    "Fault",
    "FaultAbort",
    "FaultDelay",
    "Forward",
    "HeaderMatch",
    "HeaderModifier",
    "Http2Limits",
    "Identity",
    "Inbound",
    "JsonProjection",
    "JwtAuthn",
    "JwtProvider",
    "Limits",
    "Listener",
    "LoadBalancer",
    "Mirror",
    "Model",
    "MtlsMode",
    "Node",
    "Observability",
    "OutlierDetection",
    "Passthrough",
    "PassthroughRoute",
    "PathMatch",
    "PathRewrite",
    "PeerAuthn",
    "Percent",
    "Port",
    "ProxyConfig",
    "QueryParamMatch",
    "RateLimitKey",
    "RateLimitKeyType",
    "RateLimitPolicy",
    "Redirect",
    "Retry",
    "RetryBudget",
    "RetryOn",
    "Rewrite",
    "Route",
    "RouteMatch",
    "Seconds",
    "ServerTLS",
    "SniCertificate",
    "Tracing",
    "UpstreamTLS",
    "VirtualHost",
    "WeightedCluster",
    "as_loaded",
    "canonical_json",
    "dump_config",
    "load_config",
    "parse_config",
    "to_data",
]
