"""meshgate.io/v1alpha1: the models of every kind and `KINDS`, the registry the operator and the
CRD generator enumerate."""

from .authorization_policy import AuthorizationPolicy, AuthorizationPolicySpec
from .common import API_VERSION, GROUP, VERSION, Condition, PolicyStatus
from .destination_rule import DestinationRule, DestinationRuleSpec
from .edge_authentication import EdgeAuthentication, EdgeAuthenticationSpec
from .gateway import Gateway, GatewaySpec, GatewayStatus
from .meta import ObjectMeta
from .peer_authentication import PeerAuthentication, PeerAuthenticationSpec
from .rate_limit_policy import RateLimitPolicy, RateLimitPolicySpec
from .registry import BY_KIND, CATEGORY, KINDS, KindInfo, PrinterColumn, parse
from .retry_policy import RetryPolicy, RetryPolicySpec
from .route import Route, RouteSpec, RouteStatus

__all__ = [
    "API_VERSION",
    "BY_KIND",
    "CATEGORY",
    "GROUP",
    "KINDS",
    "VERSION",
    "AuthorizationPolicy",
    "AuthorizationPolicySpec",
    "Condition",
    "DestinationRule",
    "DestinationRuleSpec",
    "EdgeAuthentication",
    "EdgeAuthenticationSpec",
    "Gateway",
    "GatewaySpec",
    "GatewayStatus",
    "KindInfo",
    "ObjectMeta",
    "PeerAuthentication",
    "PeerAuthenticationSpec",
    "PolicyStatus",
    "PrinterColumn",
    "RateLimitPolicy",
    "RateLimitPolicySpec",
    "RetryPolicy",
    "RetryPolicySpec",
    "Route",
    "RouteSpec",
    "RouteStatus",
    "parse",
]
