"""Edge policies: EdgeAuthentication and RateLimitPolicy, from the Secrets they read
(`secrets`) through where they land (`targets`) to the proxy's `authn` and `rateLimits`
entries (`proxy_policies`). Pure."""

from .proxy_policies import AUTHN, LIMIT
from .secrets import (
    DEFAULT_REDIS_FILE,
    SecretUse,
    api_keys_file,
    edge_secret_of,
    edge_secret_refs,
    edge_secrets_from_bodies,
    redis_url_file,
)
from .targets import EdgeBook, GatewayEdge, attachment_notes

__all__ = [
    "AUTHN",
    "DEFAULT_REDIS_FILE",
    "LIMIT",
    "EdgeBook",
    "GatewayEdge",
    "SecretUse",
    "api_keys_file",
    "attachment_notes",
    "edge_secret_of",
    "edge_secret_refs",
    "edge_secrets_from_bodies",
    "redis_url_file",
]
